/**
 * Tenants in the composed live gateway (`wattline serve`): a hashed tenant key, the tenant metrics
 * on /metrics, /api/tenants, and an enforced tenant budget that still holds after a restart (the
 * totals are seeded from the SQLite ledger).
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

const MODEL = 'llama-3.1-8b-instruct'
const KEY = 'sk-acme-live-42'
const dirs: string[] = []
const stubs: StubBackend[] = []
const gateways: LiveGateway[] = []
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.close()
  for (const s of stubs.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function start(dir: string, env: Record<string, string> = {}): Promise<LiveGateway> {
  const live = await startLiveGateway({
    configPath: 'wattline.yaml',
    cwd: dir,
    env,
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  })
  gateways.push(live)
  return live
}

const ask = (live: LiveGateway) =>
  new OpenAI({ baseURL: `${live.url}/v1`, apiKey: KEY, maxRetries: 0 }).chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 3,
  })

/** A gateway config: one service whose tenant `acme` has an enforced, tiny monthly cap. */
function writeConfig(dir: string, stub: StubBackend, cluster: readonly string[] = []): void {
  const sha = createHash('sha256').update(KEY).digest('hex')
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      'gateway:',
      '  log_level: silent',
      'ledger:',
      '  url: sqlite:./ledger.db',
      'services:',
      '  - name: chat',
      '    default: true',
      '    api_keys:',
      `      - { tenant: acme, key_sha256: ${sha} }`,
      '    tenants:',
      '      - name: acme',
      '        budget: { period: month, energy_j: 0.000001, mode: enforce }',
      'backends:',
      '  - id: paris',
      `    url: ${stub.url}`,
      '    zone: FR',
      '    hardware: H100-SXM',
      `    models: [${MODEL}]`,
      ...cluster,
      '',
    ].join('\n'),
  )
}

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined)
  console.warn('REDIS_URL is not set: skipping tenant totals across replicas')

describe.skipIf(REDIS_URL === undefined)(
  'tenants across two live replicas (cluster: Redis)',
  () => {
    it('refuses the tenant on the other replica once the first accounted its cap', async () => {
      const stub = await startStub({ model: MODEL })
      stubs.push(stub)
      const prefix = `wl-test-${Date.now()}-${Math.random().toString(36).slice(2)}`
      const cluster = [
        'cluster:',
        '  redis_url_env: WATTLINE_REDIS_URL',
        `  key_prefix: ${prefix}`,
        '  sync_interval_ms: 50',
      ]
      const replicas: LiveGateway[] = []
      for (let i = 0; i < 2; i += 1) {
        const dir = mkdtempSync(join(tmpdir(), 'wl-live-tenants-'))
        dirs.push(dir)
        writeConfig(dir, stub, cluster)
        replicas.push(await start(dir, { WATTLINE_REDIS_URL: REDIS_URL ?? '' }))
      }
      const [a, b] = replicas as [LiveGateway, LiveGateway]
      await ask(a)
      // Replica B never served acme: it learns A's total from Redis (its ratio gauge passes 1)…
      await expect
        .poll(
          async () => {
            const text = await (await fetch(`${b.url}/metrics`)).text()
            const m = /wattline_tenant_budget_ratio\{service="chat",tenant="acme"\} (\S+)/.exec(
              text,
            )
            return Number(m?.[1] ?? 0) >= 1
          },
          { timeout: 5000, interval: 50 },
        )
        .toBe(true)
      // … and refuses acme's very first request to it.
      await expect(ask(b)).rejects.toMatchObject({ status: 429, code: 'WL_BUDGET_EXCEEDED' })
      expect(stub.received).toHaveLength(1)
    })
  },
)

describe('tenants in the live gateway', () => {
  it('counts the tenant, lists it, and keeps refusing it after a restart within the period', async () => {
    const stub = await startStub({ model: MODEL })
    stubs.push(stub)
    const dir = mkdtempSync(join(tmpdir(), 'wl-live-tenants-'))
    dirs.push(dir)
    writeConfig(dir, stub)
    const first = await start(dir)
    await ask(first)
    await expect(ask(first)).rejects.toMatchObject({ status: 429, code: 'WL_BUDGET_EXCEEDED' })
    const metrics = await (await fetch(`${first.url}/metrics`)).text()
    expect(metrics).toMatch(/wattline_tenant_requests_total\{service="chat",tenant="acme"\} 1/)
    expect(metrics).toMatch(
      /wattline_tenant_budget_exceeded_total\{service="chat",tenant="acme",mode="enforce"\} 1/,
    )
    await expect
      .poll(async () => {
        const t = (await (await fetch(`${first.url}/api/tenants?span=1h`)).json()) as {
          tenants: { tenant: string; requests: number; configured: boolean }[]
        }
        return t.tenants.find((x) => x.tenant === 'acme')
      })
      .toMatchObject({ requests: 1, configured: true })
    await first.close()
    gateways.splice(0)

    // A restart in the same month: the ledger's total is over the cap, so acme stays refused.
    const second = await start(dir)
    await expect(ask(second)).rejects.toMatchObject({ status: 429, code: 'WL_BUDGET_EXCEEDED' })
    expect(stub.received).toHaveLength(1)
  })
})

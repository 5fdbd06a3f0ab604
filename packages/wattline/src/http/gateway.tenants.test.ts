/**
 * Tenants through the real gateway (official `openai` client, simulated stub backends): keys stored
 * as SHA-256 digests, per-tenant metrics with bounded labels, and tenant budgets in warn and
 * enforce mode across a period boundary.
 */
import { createHash } from 'node:crypto'
import type { Clock, Instant, RequestRecord } from '@wattline/core'
import OpenAI from 'openai'
import { pino } from 'pino'
import { Writable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'
import { OTHER_TENANT, TENANT_METRICS } from '../tenant-usage/tenant-usage.ts'

const MODEL = 'llama-3.1-8b-instruct'
const KEY_A = 'sk-team-a-0123456789'
const KEY_B = 'sk-team-b-9876543210'
const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex')

/** Real time plus an offset the test moves forward (to cross a budget period). */
function shiftedClock(): Clock & { shiftMs: number } {
  const c = {
    shiftMs: 0,
    now: () => (Date.now() + c.shiftMs) as Instant,
    setTimer: (at: Instant, fire: () => void) => {
      const t = setTimeout(fire, Math.max(0, at - c.now()))
      return () => clearTimeout(t)
    },
  }
  return c
}

let stub: StubBackend | undefined
let gw: Harness | undefined
afterEach(async () => {
  await gw?.close()
  await stub?.close()
  gw = undefined
  stub = undefined
})

async function setup(
  service: Record<string, unknown>,
  env: Record<string, string>,
  options: { clock?: Clock; logLines?: string[] } = {},
): Promise<Harness> {
  stub = await startStub()
  const lines = options.logLines
  const logger =
    lines === undefined
      ? undefined
      : pino(
          { level: 'warn' },
          new Writable({
            write(chunk: Buffer, _enc, done) {
              lines.push(chunk.toString())
              done()
            },
          }),
        )
  gw = await startGateway(
    {
      services: [{ name: 'chat', default: true, ...service }],
      backends: [{ id: 'paris', url: stub.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL] }],
    },
    { FR: 50 },
    env,
    undefined,
    {
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(logger === undefined ? {} : { logger }),
    },
  )
  return gw
}

const client = (h: Harness, apiKey: string): OpenAI =>
  new OpenAI({ baseURL: h.baseUrl, apiKey, maxRetries: 0, timeout: 10_000 })

const ask = (c: OpenAI) =>
  c.chat.completions
    .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 })
    .withResponse()

async function metricValues(
  h: Harness,
  name: string,
): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const m = await h.metrics.registry.getSingleMetric(name)?.get()
  return (m?.values ?? []) as { labels: Record<string, string | number>; value: number }[]
}

const requestRows = (h: Harness): RequestRecord[] =>
  h.ledger.records.filter((r): r is RequestRecord => r.kind === 'request')

describe('tenant keys stored as SHA-256 digests', () => {
  it('lets the right key in, refuses a wrong one with 401, and counts each key for its tenant', async () => {
    const h = await setup(
      {
        api_keys: [
          { tenant: 'team-a', key_sha256: sha256(KEY_A) },
          { tenant: 'team-b', key_env: 'KEY_B' },
        ],
      },
      { KEY_B },
    )
    // Only digests are held for key_sha256 entries: the key itself is nowhere in the config.
    const a = h.config.secrets.tenantKeys.find((k) => k.tenant === 'team-a')
    expect(a?.key).toBeUndefined()
    expect(a?.sha256).toBe(sha256(KEY_A))
    expect(JSON.stringify(h.config)).not.toContain(KEY_A)

    await expect(ask(client(h, 'sk-team-a-wrong'))).rejects.toMatchObject({
      status: 401,
      type: 'authentication_error',
      code: 'WL_UNAUTHORIZED',
    })
    // Upper-case hex in the config matches as well (digests compared as bytes).
    const { data } = await ask(client(h, KEY_A))
    expect(data.choices[0]?.message.content).toBe('Hello from stub')
    await ask(client(h, KEY_A))
    await ask(client(h, KEY_B))

    const rows = requestRows(h)
    expect(rows.map((r) => r.tenant).sort()).toEqual(['team-a', 'team-a', 'team-b'])
    const reqs = await metricValues(h, TENANT_METRICS.requests)
    expect(reqs.find((v) => v.labels['tenant'] === 'team-a')?.value).toBe(2)
    expect(reqs.find((v) => v.labels['tenant'] === 'team-b')?.value).toBe(1)
    const energy = await metricValues(h, TENANT_METRICS.energy)
    const rowJ = rows.filter((r) => r.tenant === 'team-a').reduce((s, r) => s + r.energy_j, 0)
    expect(rowJ).toBeGreaterThan(0)
    expect(energy.find((v) => v.labels['tenant'] === 'team-a')?.value).toBeCloseTo(rowJ, 9)
    const carbon = await metricValues(h, TENANT_METRICS.carbon)
    expect(carbon.find((v) => v.labels['tenant'] === 'team-b')?.value).toBeGreaterThan(0)
  })

  it('matches an upper-case digest and never forwards the tenant key upstream', async () => {
    const h = await setup(
      { api_keys: [{ tenant: 'team-a', key_sha256: sha256(KEY_A).toUpperCase() }] },
      {},
    )
    await ask(client(h, KEY_A))
    expect(stub?.received[0]?.headers['authorization']).toBeUndefined()
  })
})

describe('tenant metric labels', () => {
  it('are the configured tenants only: any other tenant and requests without a key count as "other"', async () => {
    const h = await setup({ api_keys: [{ tenant: 'team-a', key_sha256: sha256(KEY_A) }] }, {})
    await ask(client(h, KEY_A))
    // A row of a tenant no longer configured (e.g. an old batch) and one without a tenant key.
    const base = requestRows(h)[0] as RequestRecord
    h.tenants.observe({ ...base, id: 'x1', tenant: 'removed-team' })
    h.tenants.observe({ ...base, id: 'x2', tenant: null })
    const reqs = await metricValues(h, TENANT_METRICS.requests)
    const tenants = reqs.map((v) => v.labels['tenant']).sort()
    expect(tenants).toEqual([OTHER_TENANT, 'team-a'])
    expect(reqs.find((v) => v.labels['tenant'] === OTHER_TENANT)?.value).toBe(2)
    const text = await h.metrics.registry.metrics()
    expect(text).not.toContain('removed-team')
    expect(text).toMatch(/wattline_tenant_requests_total\{service="chat",tenant="team-a"\} 1/)
  })
})

describe('tenant budgets', () => {
  it('enforce: serves until the cap is reached, then 429 WL_BUDGET_EXCEEDED with the reason; the next period passes', async () => {
    const clock = shiftedClock()
    // Start just after an hour boundary, far from the next one.
    clock.shiftMs = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 60_000 - Date.now()
    const lines: string[] = []
    const h = await setup(
      {
        api_keys: [
          { tenant: 'team-a', key_sha256: sha256(KEY_A) },
          { tenant: 'team-b', key_sha256: sha256(KEY_B) },
        ],
        // A cap one request's energy reaches (the stub's answers cost well above a nanojoule).
        tenants: [{ name: 'team-a', budget: { period: 'hour', energy_j: 1e-9, mode: 'enforce' } }],
      },
      {},
      { clock, logLines: lines },
    )
    const a = client(h, KEY_A)
    const first = await ask(a)
    expect(first.response.headers.get('x-wattline-tenant-budget')).toBe('ok')
    const refused = await ask(a).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(OpenAI.APIError)
    const e = refused as InstanceType<typeof OpenAI.APIError>
    expect(e.status).toBe(429)
    expect(e.code).toBe('WL_BUDGET_EXCEEDED')
    expect(e.type).toBe('insufficient_quota')
    expect(e.message).toMatch(/tenant 'team-a' of service 'chat' has used its budget for the hour/)
    expect(e.message).toMatch(/J of IT energy against a cap of 1e-9 J/)
    expect(Number(e.headers?.get('retry-after'))).toBeGreaterThan(60)
    // The refused request reached no backend and wrote no ledger row.
    expect(stub?.received).toHaveLength(1)
    expect(requestRows(h)).toHaveLength(1)
    // Another tenant of the service is not affected.
    const b = await ask(client(h, KEY_B))
    expect(b.response.headers.get('x-wattline-tenant-budget')).toBeNull()
    expect(lines.filter((l) => l.includes('tenant budget exceeded'))).toHaveLength(1)
    const refusals = await metricValues(h, TENANT_METRICS.exceeded)
    expect(refusals).toEqual([
      { labels: { service: 'chat', tenant: 'team-a', mode: 'enforce' }, value: 1 },
    ])

    // The next hour (UTC) starts a fresh period: team-a is served again.
    clock.shiftMs += 3_600_000
    const again = await ask(a)
    expect(again.response.headers.get('x-wattline-tenant-budget')).toBe('ok')
    expect(again.data.choices[0]?.message.content).toBe('Hello from stub')
  })

  it('warn: serves past the cap, flagged by header, one log line per period and the metric', async () => {
    const lines: string[] = []
    const h = await setup(
      {
        api_keys: [{ tenant: 'team-a', key_sha256: sha256(KEY_A) }],
        tenants: [{ name: 'team-a', budget: { period: 'day', carbon_g: 1e-12, mode: 'warn' } }],
      },
      {},
      { logLines: lines },
    )
    const a = client(h, KEY_A)
    await ask(a)
    const over1 = await ask(a)
    const over2 = await ask(a)
    for (const r of [over1, over2]) {
      expect(r.data.choices[0]?.message.content).toBe('Hello from stub')
      expect(r.response.headers.get('x-wattline-tenant-budget')).toBe('exceeded')
      expect(Number(r.response.headers.get('x-wattline-tenant-budget-used-pct'))).toBeGreaterThan(
        100,
      )
    }
    // Streams carry the state too.
    const stream = await a.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true })
      .withResponse()
    expect(stream.response.headers.get('x-wattline-tenant-budget')).toBe('exceeded')
    for await (const _chunk of stream.data) void _chunk
    expect(lines.filter((l) => l.includes('tenant budget exceeded (warn mode'))).toHaveLength(1)
    const flagged = await metricValues(h, TENANT_METRICS.exceeded)
    expect(flagged).toEqual([
      { labels: { service: 'chat', tenant: 'team-a', mode: 'warn' }, value: 3 },
    ])
    const ratio = await metricValues(h, TENANT_METRICS.ratio)
    expect(ratio[0]?.value).toBeGreaterThan(1)
    expect(h.tenants.statuses()[0]).toMatchObject({
      tenant: 'team-a',
      state: 'exceeded',
      period: 'day',
    })
  })

  it('says warning from warn_at_pct of a cap', async () => {
    const h = await setup(
      {
        api_keys: [{ tenant: 'team-a', key_sha256: sha256(KEY_A) }],
        tenants: [
          {
            name: 'team-a',
            budget: { period: 'month', energy_j: 1e6, mode: 'enforce', warn_at_pct: 0 },
          },
        ],
      },
      {},
    )
    const r = await ask(client(h, KEY_A))
    expect(r.response.headers.get('x-wattline-tenant-budget')).toBe('warning')
    expect(Number(r.response.headers.get('x-wattline-tenant-budget-used-pct'))).toBe(0)
    const r2 = await ask(client(h, KEY_A))
    expect(Number(r2.response.headers.get('x-wattline-tenant-budget-used-pct'))).toBeGreaterThan(0)
  })
})

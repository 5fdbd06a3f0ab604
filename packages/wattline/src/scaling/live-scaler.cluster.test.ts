/**
 * The live scaler behind a load balancer: two gateway processes' worth of gateways
 * (startLiveGateway twice, each with its own ledger) share one real Redis through the `cluster:`
 * section. Each sees only the requests sent to it; `GET /scaling/{pool}` must answer the same on
 * both, from the sum of their loads. Skipped with a notice when REDIS_URL is unset (CI sets it).
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { startLiveGateway, type LiveGateway } from '../compose/live.ts'
import { startStub } from '../http/harness.test-support.ts'
import type { PoolRecommendation } from './live-scaler.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('live-scaler.cluster.test: REDIS_URL unset, skipped')
const MODEL = 'llama-3.1-8b-instruct'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function replica(stubUrl: string, prefix: string, cluster: boolean): Promise<LiveGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'wl-scaling-cluster-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      'gateway:',
      '  log_level: silent',
      'ledger:',
      '  url: sqlite:./ledger.db',
      ...(cluster ? ['cluster:', '  redis_url_env: REDIS_URL', `  key_prefix: ${prefix}`] : []),
      'services:',
      '  - name: chat',
      '    default: true',
      '    slo:',
      '      p95_latency_ms: 20000',
      'backends:',
      '  - id: paris',
      `    url: ${stubUrl}`,
      '    zone: FR',
      '    hardware: H100-SXM',
      `    models: [${MODEL}]`,
      '    max_concurrency: 256',
      '    scaling:',
      '      policy: predictive',
      '      min_replicas: 0',
      '      max_replicas: 50',
      '      slots_per_replica: 1',
      '      window_s: 1',
      '      cold_start_s: 1',
      '',
    ].join('\n'),
  )
  const live = await startLiveGateway({
    configPath: 'wattline.yaml',
    cwd: dir,
    env: { REDIS_URL: REDIS_URL ?? '' },
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  })
  cleanups.push(() => live.close())
  return live
}

const scaling = async (g: LiveGateway): Promise<PoolRecommendation> =>
  (await (await fetch(`${g.url}/scaling/paris`)).json()) as PoolRecommendation

async function send(g: LiveGateway, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${g.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: MODEL,
          messages: [{ role: 'user', content: `hello ${i}` }],
          max_tokens: 3,
        }),
      })
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }),
  )
}

/** Sends `a` requests to one gateway and `b` to the other early in one 1 s window. */
async function burst(ga: LiveGateway, gb: LiveGateway, a: number, b: number): Promise<void> {
  while (Date.now() % 1000 > 150) await new Promise((r) => setTimeout(r, 5))
  await Promise.all([send(ga, a), send(gb, b)])
}

describe.skipIf(REDIS_URL === undefined)(
  'live scaler with two gateway replicas on one Redis',
  () => {
    it('both replicas answer GET /scaling/{pool} with the same recommendation, from the sum of their loads', async () => {
      const stub = await startStub({ model: MODEL, delayMs: 5 })
      cleanups.push(() => stub.close())
      const prefix = `wl-test-${randomUUID()}`
      const [a, b] = [await replica(stub.url, prefix, true), await replica(stub.url, prefix, true)]
      // Each window: 30 requests through one replica, 10 through the other (a load balancer's
      // uneven split), until a window is seen whole (a burst may straddle a window's edge).
      let seen: [PoolRecommendation, PoolRecommendation] | undefined
      const end = Date.now() + 20_000
      while (seen === undefined && Date.now() < end) {
        await burst(a, b, 30, 10)
        const until = Date.now() + 2_500
        while (Date.now() < until) {
          const [ra, rb] = [await scaling(a), await scaling(b)]
          if (ra.observed_requests_per_s === 40 && ra.updated_at === rb.updated_at) {
            seen = [ra, rb]
            break
          }
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      expect(seen).toBeDefined()
      const [ra, rb] = seen!
      // the same answer on both, from both replicas' requests (30 + 10 in a 1 s window)
      expect(rb).toEqual(ra)
      expect(ra).toMatchObject({
        pool: 'paris',
        load_scope: 'cluster',
        replicas_reporting: 2,
        observed_requests_per_s: 40,
      })
      expect(ra.recommended_replicas).toBeGreaterThan(0)
    })

    it('without the cluster Redis each replica recommends from its own share (the documented limit)', async () => {
      const stub = await startStub({ model: MODEL, delayMs: 5 })
      cleanups.push(() => stub.close())
      const [a, b] = [await replica(stub.url, 'x', false), await replica(stub.url, 'x', false)]
      let seen: [PoolRecommendation, PoolRecommendation] | undefined
      const end = Date.now() + 20_000
      while (seen === undefined && Date.now() < end) {
        await burst(a, b, 30, 10)
        const until = Date.now() + 2_500
        while (Date.now() < until) {
          const [ra, rb] = [await scaling(a), await scaling(b)]
          if (ra.observed_requests_per_s === 30 && rb.observed_requests_per_s === 10) {
            seen = [ra, rb]
            break
          }
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      expect(seen).toBeDefined()
      expect(seen![0]).toMatchObject({ load_scope: 'replica', replicas_reporting: 1 })
    })
  },
)

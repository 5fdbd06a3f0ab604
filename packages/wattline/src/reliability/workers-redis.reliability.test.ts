/**
 * `wattline serve --workers 2` with the cluster Redis (issue 13): the workers are replicas sharing
 * each backend's `max_concurrency` through the Redis lease path, so a limit of 1, which cannot be
 * split across two workers without Redis (refused, see cli/commands/serve.test.ts), holds across
 * both with it. Real processes on loopback, one real Redis. Skipped with a notice when REDIS_URL is
 * unset (CI sets it).
 */
import { afterAll, describe, expect, it } from 'vitest'
import { atScale } from './scale.test-support.ts'
import { ServeRuns, chats, stopServe, writeServeConfig } from './worker-gateway.test-support.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('workers-redis: REDIS_URL unset, skipped')
const AT_ONCE = atScale(12, 6)

const runs = new ServeRuns()
afterAll(() => runs.cleanUp())

describe.skipIf(REDIS_URL === undefined)(
  'wattline serve --workers 2 with the cluster Redis',
  () => {
    it(`holds max_concurrency 1 across both workers for ${AT_ONCE} requests at once`, async () => {
      const upstream = await runs.upstream(100)
      const dir = runs.tempDir('wattline-workers-redis-')
      const prefix = `wl-workers-${String(process.pid)}-${String(Date.now())}`
      writeServeConfig(dir, {
        head: [
          'gateway: { log_level: warn, health: { interval_ms: 60000 } }',
          'ledger: { url: "sqlite:./ledger.db" }',
          `cluster: { redis_url_env: WL_WORKERS_REDIS, key_prefix: "${prefix}" }`,
        ],
        upstreamUrl: upstream.url,
        maxConcurrency: 1,
      })
      const started = runs.serve(dir, ['--workers', '2'], {
        ...process.env,
        WL_WORKERS_REDIS: REDIS_URL as string,
      })
      const base = await started.url
      const got = await chats(base, AT_ONCE, AT_ONCE)
      expect(got.map((r) => r.status)).toEqual(Array(AT_ONCE).fill(200))
      expect(upstream.peak).toBe(1)
      expect(await stopServe(started.child)).toBe(0)
    }, 60_000)
  },
)

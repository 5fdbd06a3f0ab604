/**
 * Energy accounting of gateway replicas (cluster mode: several `wattline serve` processes sharing
 * in-flight counts through one real Redis) agrees with one replica. The real CLI in its own
 * processes in front of one simulated model server (modelled meter), under the same fixed load:
 * `CLIENTS` concurrent clients, each sending its next chat as soon as the last is answered, for
 * `LOAD_MS`, then `IDLE_MS` with nothing in flight. First through one replica, then split evenly
 * over two (each with its own ledger; their rows are added up), then through one `serve --workers 2`
 * (whose workers are replicas in cluster mode). No mocks. Skipped with a notice when REDIS_URL is
 * unset (CI sets it).
 *
 * The backend's energy in the window — request rows plus idle rows clipped to the window, over
 * every ledger — must agree within ±15 %. Per-replica accounting (each replica's power at its own
 * occupancy, idle written by both) over-stated the two-replica figure beyond that.
 */
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { atScale } from './scale.test-support.ts'
import {
  ServeRuns,
  steadyLoad,
  stopServe,
  windowEnergy,
  writeServeConfig,
  type CountingUpstream,
  type RunEnergy,
} from './worker-gateway.test-support.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('replicas-energy: REDIS_URL unset, skipped')
const CLIENTS = 40
const LOAD_MS = atScale(10_000, 3000)
const IDLE_MS = atScale(4000, 1500)
/** The simulated model server's answer time, ms. */
const UPSTREAM_MS = 1000
const TOLERANCE = 0.15

const runs = new ServeRuns()
let upstream: CountingUpstream
beforeAll(async () => {
  upstream = await runs.upstream(UPSTREAM_MS)
})
afterAll(() => runs.cleanUp())

/** Starts one replica in its own directory (own ledger) on the cluster Redis under `prefix`. */
async function replica(
  prefix: string,
  args: readonly string[],
): Promise<{ dir: string; base: string; child: ChildProcess }> {
  const dir = runs.tempDir('wattline-replicas-energy-')
  writeServeConfig(dir, {
    head: [
      'gateway: { log_level: warn, accounting_interval_ms: 200, health: { interval_ms: 60000 } }',
      'ledger: { url: "sqlite:./ledger.db", flush_interval_ms: 100 }',
      `cluster: { redis_url_env: WL_REPLICAS_REDIS, key_prefix: "${prefix}" }`,
    ],
    upstreamUrl: upstream.url,
    maxConcurrency: 64,
  })
  const started = runs.serve(dir, args, { ...process.env, WL_REPLICAS_REDIS: REDIS_URL as string })
  started.child.stdout!.resume()
  return { dir, base: await started.url, child: started.child }
}

/**
 * The fixed load split evenly over `count` replicas (each `serve <args>`); the backend's energy in
 * the window.
 */
async function measure(count: number, args: readonly string[] = []): Promise<RunEnergy> {
  const prefix = `wl-replicas-energy-${String(process.pid)}-${String(Date.now())}`
  const replicas = await Promise.all(Array.from({ length: count }, () => replica(prefix, args)))
  const bases = replicas.map((r) => r.base)
  const { fromMs, statuses } = await steadyLoad(bases, CLIENTS, LOAD_MS)
  expect(statuses.filter((s) => s !== 200)).toEqual([])
  await new Promise((r) => setTimeout(r, IDLE_MS))
  const toMs = Date.now()
  await Promise.all(replicas.map(async (r) => expect(await stopServe(r.child)).toBe(0)))
  let requests = 0
  let activeJ = 0
  let idleJ = 0
  for (const r of replicas) {
    const db = new Database(join(r.dir, 'ledger.db'), { readonly: true, fileMustExist: true })
    try {
      const e = windowEnergy(db, fromMs, toMs)
      requests += e.requests
      activeJ += e.activeJ
      idleJ += e.idleJ
    } finally {
      db.close()
    }
  }
  expect(requests).toBe(statuses.length)
  return { requests, activeJ, idleJ, totalJ: activeJ + idleJ }
}

describe.skipIf(REDIS_URL === undefined)(
  'gateway replicas in cluster mode account a shared backend once (real processes, real Redis)',
  () => {
    it(`records the same backend energy through 1 and 2 replicas under ${CLIENTS} concurrent requests (±${TOLERANCE * 100} %)`, async () => {
      const one = await measure(1)
      const two = await measure(2)
      const workers = await measure(1, ['--workers', '2'])
      const ratio = two.totalJ / one.totalJ
      const workersRatio = workers.totalJ / one.totalJ
      // the figures quoted in docs/reliability.md
      console.log(
        `replicas-energy: 1 replica ${JSON.stringify(one)}; 2 replicas ${JSON.stringify(two)}; ratio ${ratio.toFixed(3)}; 1 replica of 2 workers ${JSON.stringify(workers)}; ratio ${workersRatio.toFixed(3)}`,
      )
      expect(one.idleJ).toBeGreaterThan(0)
      expect(two.idleJ).toBeGreaterThan(0)
      expect(workers.idleJ).toBeGreaterThan(0)
      expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(TOLERANCE)
      expect(Math.abs(workersRatio - 1)).toBeLessThanOrEqual(TOLERANCE)
    }, 90_000)
  },
)

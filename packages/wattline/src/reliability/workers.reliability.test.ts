/**
 * `wattline serve --workers 2` as an operator runs it (issue 13): the real CLI in its own process
 * (a node:cluster primary and two worker processes on one port) in front of a simulated model
 * server that counts its concurrent requests. No mocks.
 *
 * - `max_concurrency: 2` holds across both workers without Redis (each runs its share of 1);
 * - both workers answer, and `/metrics`, scraped from whichever worker gets the connection, counts
 *   every request of both; every gauge it shows has a documented cross-worker aggregation;
 * - a worker killed with SIGKILL is forked again (logged, `wattline_worker_restarts_total` 1) and
 *   requests keep being answered, by the new worker too;
 * - SIGTERM on the primary drains and stops every worker and exits 0; the ledger holds every
 *   answered request, from both workers and the replacement, in one chain `wattline verify` passes.
 */
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../cli/program.ts'
import { captureIo } from '../cli/run-cli.test-support.ts'
import { ADDITIVE_GAUGES, GAUGE_AGGREGATION } from '../compose/worker-metrics.ts'
import { atScale } from './scale.test-support.ts'
import {
  ServeRuns,
  chats,
  stopServe,
  writeServeConfig,
  type CountingUpstream,
} from './worker-gateway.test-support.ts'

const REQUESTS = atScale(400, 40)

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`, { headers: { connection: 'close' } })
  expect(res.status).toBe(200)
  return res.text()
}

function requestsTotal(text: string): number {
  let sum = 0
  for (const m of text.matchAll(/^wattline_requests_total\{[^}]*\} (\d+)$/gm)) sum += Number(m[1])
  return sum
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let upstream: CountingUpstream
let child: ChildProcess
let base = ''
let dir = ''
const runs = new ServeRuns()
let stdout = ''
/** Request id → pid of the worker that logged it ("request done"). */
const servedBy = new Map<string, number>()
/** Every answered request id, in order. */
const answered: string[] = []

function served(ids: readonly string[]): Set<number> {
  return new Set(ids.map((id) => servedBy.get(id) ?? -1))
}

beforeAll(async () => {
  upstream = await runs.upstream(2)
  dir = runs.tempDir('wattline-workers-')
  writeServeConfig(dir, {
    head: [
      'gateway: { log_level: info, health: { interval_ms: 60000 } }',
      'ledger: { url: "sqlite:./ledger.db" }',
    ],
    upstreamUrl: upstream.url,
    maxConcurrency: 2,
  })
  const started = runs.serve(dir, ['--workers', '2'])
  child = started.child
  let pending = ''
  child.stdout!.on('data', (c: Buffer) => {
    stdout += c.toString()
    pending += c.toString()
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      const m = /"pid":(\d+).*"reqId":"([^"]+)".*"msg":"request done"/.exec(line)
      if (m !== null) servedBy.set(m[2] as string, Number(m[1]))
    }
  })
  base = await started.url
}, 60_000)

afterAll(() => runs.cleanUp())

/** Waits until the worker that served `id` has logged it. */
async function loggedAll(ids: readonly string[]): Promise<void> {
  await expect.poll(() => ids.filter((id) => !servedBy.has(id)).length, { timeout: 10_000 }).toBe(0)
}

describe('wattline serve --workers 2 (real processes on loopback)', () => {
  it('holds max_concurrency 2 across both workers without Redis (a share of 1 each)', async () => {
    upstream.delayMs = 150
    const got = await chats(base, 8, 8)
    upstream.delayMs = 2
    expect(got.map((r) => r.status)).toEqual(Array(8).fill(200))
    expect(upstream.peak).toBeGreaterThanOrEqual(1)
    expect(upstream.peak).toBeLessThanOrEqual(2)
    answered.push(...got.map((r) => r.id))
  })

  it(`answers ${REQUESTS} requests on both workers; /metrics on any worker counts them all`, async () => {
    const got = await chats(base, REQUESTS, 4)
    expect(got.filter((r) => r.status !== 200)).toEqual([])
    answered.push(...got.map((r) => r.id))
    await loggedAll(answered)
    expect(served(answered).size).toBe(2)
    // three scrapes on fresh connections: round-robin lands them on both workers
    for (let i = 0; i < 3; i++) {
      const text = await scrape(base)
      expect(requestsTotal(text)).toBe(answered.length)
      expect(text).toMatch(/^wattline_worker_restarts_total 0$/m)
      for (const m of text.matchAll(/^# TYPE (\S+) gauge$/gm)) {
        const name = m[1] as string
        expect(name in GAUGE_AGGREGATION || ADDITIVE_GAUGES.has(name), name).toBe(true)
      }
      // the intensity gauge is every worker's same value, not their sum
      expect(text).toMatch(
        /^wattline_grid_intensity_grams_per_kwh\{zone="FR",signal="average"\} [0-9.]+$/m,
      )
    }
  })

  it('forks a SIGKILLed worker again and keeps answering, on the new worker too', async () => {
    const db = new Database(join(dir, 'ledger.db'), { readonly: true, fileMustExist: true })
    const inLedger = () =>
      new Set((db.prepare('SELECT id FROM requests').all() as { id: string }[]).map((r) => r.id))
    // everything answered so far reached the primary's writer before the kill
    await expect
      .poll(() => answered.filter((id) => !inLedger().has(id)).length, { timeout: 10_000 })
      .toBe(0)
    db.close()
    const before = [...served(answered)]
    const victim = before[0] as number
    process.kill(victim, 'SIGKILL')
    await expect
      .poll(() => /"gateway worker forked again"/.test(stdout), { timeout: 15_000 })
      .toBe(true)
    // the replacement listens once it logs so (fastify's "Server listening" line, its own pid)
    await expect
      .poll(
        () =>
          [...stdout.matchAll(/"pid":(\d+)[^\n]*"msg":"Server listening/g)].some(
            (m) => !before.includes(Number(m[1])),
          ),
        { timeout: 20_000 },
      )
      .toBe(true)
    const got = await chats(base, 20, 2)
    expect(got.filter((r) => r.status !== 200)).toEqual([])
    const after = got.map((r) => r.id)
    answered.push(...after)
    await loggedAll(after)
    const now = served(after)
    expect(now.has(victim)).toBe(false)
    expect([...now].some((pid) => !before.includes(pid))).toBe(true)
    expect(await scrape(base)).toMatch(/^wattline_worker_restarts_total 1$/m)
    expect(stdout).toMatch(/"signal":"SIGKILL"[^\n]*"msg":"gateway worker exited unexpectedly/)
  })

  it('drains and stops every worker on SIGTERM, exits 0, and leaves one chain holding every request', async () => {
    const workers = [...served(answered)]
    // requests in flight on both workers when SIGTERM arrives are answered, not cut
    upstream.delayMs = 400
    const inFlight = chats(base, 4, 4)
    await expect.poll(() => upstream.inflight, { timeout: 10_000 }).toBe(2)
    const exited = stopServe(child)
    const drained = await inFlight
    expect(drained.map((r) => r.status)).toEqual([200, 200, 200, 200])
    answered.push(...drained.map((r) => r.id))
    expect(await exited).toBe(0)
    for (const pid of workers) await expect.poll(() => alive(pid), { timeout: 5000 }).toBe(false)
    const db = new Database(join(dir, 'ledger.db'), { readonly: true, fileMustExist: true })
    const ids = new Set(
      (db.prepare('SELECT id FROM requests').all() as { id: string }[]).map((r) => r.id),
    )
    db.close()
    expect(answered.filter((id) => !ids.has(id))).toEqual([])
    expect(served(answered).size).toBe(3) // two workers and the replacement
    const cli = captureIo({ cwd: dir })
    expect(await runCli(['verify', '--ledger', 'sqlite:./ledger.db'], cli.io)).toBe(0)
    expect(cli.out() + cli.err()).toMatch(/intact/)
  })
})

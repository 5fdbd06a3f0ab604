/**
 * Energy accounting of `wattline serve --workers N` agrees with one process (issue: per-worker
 * accounting over-counted a shared backend). The real CLI in its own process, `--workers 1` then
 * `--workers 2`, in front of the same simulated model server (modelled meter), under the same fixed
 * load: `CLIENTS` concurrent clients, each sending its next chat as soon as the last is answered,
 * for `LOAD_MS`, then `IDLE_MS` with nothing in flight. No mocks.
 *
 * The backend's energy in that window — its requests' rows plus its idle rows clipped to the
 * window — must agree between the two runs within ±15 %. Per-worker accounting (each worker's
 * power at its own occupancy, P(b/2) twice instead of P(b) once, and the idle energy recorded by
 * every worker) over-stated the two-worker figure beyond that (1.70× measured before the fix).
 *
 * With a measured meter (a fake `nvidia-smi` reading a constant 400 W), two workers record
 * 400 W × the window (±15 %), not each the whole reading, and each reading once.
 */
import { chmodSync, writeFileSync } from 'node:fs'
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

const CLIENTS = 40
const LOAD_MS = atScale(10_000, 3000)
const IDLE_MS = atScale(4000, 1500)
/** The simulated model server's answer time, ms (long against IPC lag, short against LOAD_MS). */
const UPSTREAM_MS = 1000
const TOLERANCE = 0.15
const ACCOUNTING_MS = 200
const METER_MS = 100
const METER_W = 400

interface MeteredEnergy extends RunEnergy {
  readonly windowMs: number
  /** Power samples in the ledger inside the window. */
  readonly samples: number
}

const runs = new ServeRuns()
let upstream: CountingUpstream
beforeAll(async () => {
  upstream = await runs.upstream(UPSTREAM_MS)
})
afterAll(() => runs.cleanUp())

/**
 * Runs the fixed load through `serve --workers <workers>`; the backend's energy in the window.
 * `measured`: the backend's meter is a fake `nvidia-smi` reading `METER_W`.
 */
async function measure(workers: number, measured = false): Promise<MeteredEnergy> {
  const dir = runs.tempDir(`wattline-workers-energy-${workers}-`)
  const smi = join(dir, 'fake-nvidia-smi.sh')
  writeFileSync(smi, `#!/bin/sh\necho '0, ${METER_W}'\n`)
  chmodSync(smi, 0o755)
  writeServeConfig(dir, {
    head: [
      `gateway: { log_level: warn, accounting_interval_ms: ${ACCOUNTING_MS}, health: { interval_ms: 60000 } }`,
      'ledger: { url: "sqlite:./ledger.db", flush_interval_ms: 100 }',
    ],
    upstreamUrl: upstream.url,
    maxConcurrency: 64,
    backendExtra: measured
      ? [`    meter: { type: nvidia-smi, command: '${smi}', interval_ms: ${METER_MS} }`]
      : [],
  })
  const started = runs.serve(dir, ['--workers', String(workers)])
  const child = started.child
  child.stdout!.resume()
  const base = await started.url
  // past the meter's first readings
  if (measured) await new Promise((r) => setTimeout(r, 1000))
  const { fromMs, statuses } = await steadyLoad([base], CLIENTS, LOAD_MS)
  expect(statuses.filter((s) => s !== 200)).toEqual([])
  await new Promise((r) => setTimeout(r, IDLE_MS))
  const toMs = Date.now()
  expect(await stopServe(child)).toBe(0)
  const db = new Database(join(dir, 'ledger.db'), { readonly: true, fileMustExist: true })
  try {
    const e = windowEnergy(db, fromMs, toMs, 'paris')
    const samples = (
      db
        .prepare(
          'SELECT COUNT(*) AS n FROM power_samples WHERE backend = ? AND at_ms >= ? AND at_ms <= ?',
        )
        .get('paris', fromMs, toMs) as { n: number }
    ).n
    expect(e.requests).toBe(statuses.length)
    return { ...e, totalJ: e.activeJ + e.idleJ, windowMs: toMs - fromMs, samples }
  } finally {
    db.close()
  }
}

describe('serve --workers N accounts a shared backend once (real processes on loopback)', () => {
  it(`records the same backend energy with 1 and 2 workers under ${CLIENTS} concurrent requests (±${TOLERANCE * 100} %)`, async () => {
    const one = await measure(1)
    const two = await measure(2)
    const ratio = two.totalJ / one.totalJ
    // the figures quoted in docs/reliability.md
    console.log(
      `workers-energy: --workers 1 ${JSON.stringify(one)}; --workers 2 ${JSON.stringify(two)}; ratio ${ratio.toFixed(3)}`,
    )
    expect(one.requests).toBeGreaterThan(CLIENTS)
    expect(one.idleJ).toBeGreaterThan(0)
    expect(two.idleJ).toBeGreaterThan(0)
    expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(TOLERANCE)
    // the modelled power samples are the backend's: written by one worker, once per interval
    expect(two.samples).toBeLessThanOrEqual(two.windowMs / ACCOUNTING_MS + 2)
  }, 90_000)

  it.skipIf(process.platform === 'win32')(
    `shares a measured ${METER_W} W among both workers' requests: ${METER_W} W × the window (±${TOLERANCE * 100} %), each reading written once`,
    async () => {
      const two = await measure(2, true)
      const expectedJ = (METER_W * two.windowMs) / 1000
      console.log(
        `workers-energy (measured ${METER_W} W): --workers 2 ${JSON.stringify(two)}; expected ${expectedJ.toFixed(1)} J; ratio ${(two.totalJ / expectedJ).toFixed(3)}`,
      )
      expect(Math.abs(two.totalJ / expectedJ - 1)).toBeLessThanOrEqual(TOLERANCE)
      expect(two.samples).toBeGreaterThan(0)
      expect(two.samples).toBeLessThanOrEqual(two.windowMs / METER_MS + 2)
    },
    60_000,
  )
})

/**
 * @module compose/worker-occupancy
 * Energy accounting of a backend shared by the workers of `serve --workers N`: one backend, one
 * power draw, however many processes send it requests.
 *
 * - **Active energy at the total occupancy.** Every `OCCUPANCY_INTERVAL_MS` each worker reports its
 *   requests in flight per backend, by model and phase (`wl:occupancy`, only when it changed); the
 *   primary keeps the latest report of each worker and, on its own tick when any changed, sends
 *   each worker the sum of the *others'* (`wl:occupancy-others`). Each worker's tracker
 *   (`core/energy/live-attribution`, `setExternal`) then models the backend's power at the total
 *   occupancy — a measured reading is the whole backend's too — and keeps only its own requests'
 *   share of it, by work. Summed over the workers, a backend's energy is what one process would
 *   record, up to the lag of the reports (one or two ticks).
 * - **Idle energy once.** A backend is idle when nothing is in flight on it in any worker. Only
 *   worker 0 (`IDLE_WORKER`) writes idle energy and the backend-wide power samples; the others
 *   drop theirs. While worker 0 is down (crashed, being forked again) no idle is written.
 *
 * A worker that exits stops counting: the primary drops its report at once. With the cluster Redis
 * the workers are replicas for energy too: their occupancy comes from the shared counts and the
 * leader lease picks who writes idle energy (`http/gateway.ts`, `compose/accounting-leader.ts`);
 * this exchange is then not started.
 */
import type { PhaseCounts } from '@wattline/core'
import {
  occupancyReport,
  setOthersOccupancy,
  type BackendRuntime,
  type ModelOccupancy,
} from '../http/backend-runtime.ts'

/** Requests in flight per backend id, by client model name and phase. */
export type FleetOccupancy = Readonly<Record<string, ModelOccupancy>>

/** How often a worker reports its occupancy (when changed) and the primary sends the sums, ms. */
export const OCCUPANCY_INTERVAL_MS = 50
/** The primary resends the sums this many ticks after the last change (a worker that just started). */
export const OCCUPANCY_RESEND_TICKS = 20
/** The worker that records the backends' idle energy and power samples. */
export const IDLE_WORKER = 0

/** This process's requests in flight on each backend at `nowMs` (backends with none left out). */
export function fleetOccupancy(
  backends: ReadonlyMap<string, BackendRuntime>,
  nowMs: number,
): FleetOccupancy {
  const out: Record<string, ModelOccupancy> = {}
  for (const [id, rt] of backends) {
    if (rt.tracker.inflight === 0) continue
    out[id] = occupancyReport(rt, nowMs)
  }
  return out
}

/** Tells each backend's tracker what the other workers have in flight there (none where absent). */
export function applyOthersOccupancy(
  backends: ReadonlyMap<string, BackendRuntime>,
  others: FleetOccupancy,
  nowMs: number,
): void {
  for (const [id, rt] of backends) setOthersOccupancy(rt, nowMs, others[id])
}

/** The sum of the reports (per backend, model and phase). */
export function sumOccupancy(reports: Iterable<FleetOccupancy | undefined>): FleetOccupancy {
  const out: Record<string, Record<string, PhaseCounts>> = {}
  for (const report of reports) {
    if (report === undefined) continue
    for (const [backend, models] of Object.entries(report)) {
      const into = (out[backend] ??= {})
      for (const [model, c] of Object.entries(models)) {
        const had = into[model]
        into[model] =
          had === undefined
            ? { prefilling: c.prefilling, decoding: c.decoding, done: c.done }
            : {
                prefilling: had.prefilling + c.prefilling,
                decoding: had.decoding + c.decoding,
                done: had.done + c.done,
              }
      }
    }
  }
  return out
}

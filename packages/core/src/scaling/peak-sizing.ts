/**
 * @module scaling/peak-sizing
 * The `static-peak` baseline's size: the fewest replicas that, held constant, meet the p95 SLO in
 * every window of a trace by the steady-state model (so the fixed fleet is judged by the same model
 * as the policies it is compared with, not by a guess). Today's implicit fleet: provisioned for the
 * busiest window, all day.
 */
import type { RequestMix, ScalingPool } from './pool.ts'
import { quantile, type FleetTrace } from './simulate-fleet.ts'
import { requiredReplicas } from './steady-state.ts'

export interface WindowLoad {
  readonly startMs: number
  readonly ratePerS: number
  readonly mix: RequestMix
}

/** Arrival rate and token mix of each non-empty window of `trace` in [fromMs, toMs). */
export function windowLoads(
  trace: FleetTrace,
  windowMs: number,
  fromMs = Number.NEGATIVE_INFINITY,
  toMs = Number.POSITIVE_INFINITY,
): WindowLoad[] {
  const out: WindowLoad[] = []
  const n = trace.arrivalMs.length
  let i = 0
  while (i < n && (trace.arrivalMs[i] as number) < fromMs) i++
  while (i < n && (trace.arrivalMs[i] as number) < toMs) {
    const start = Math.floor((trace.arrivalMs[i] as number) / windowMs) * windowMs
    const ins: number[] = []
    const outs: number[] = []
    while (
      i < n &&
      (trace.arrivalMs[i] as number) < start + windowMs &&
      (trace.arrivalMs[i] as number) < toMs
    ) {
      ins.push(trace.inputTokens[i] as number)
      outs.push(trace.outputTokens[i] as number)
      i++
    }
    out.push({
      startMs: start,
      ratePerS: ins.length / (windowMs / 1000),
      mix: {
        meanInputTokens: ins.reduce((a, b) => a + b, 0) / ins.length,
        meanOutputTokens: outs.reduce((a, b) => a + b, 0) / outs.length,
        p95InputTokens: quantile(ins, 0.95),
        p95OutputTokens: quantile(outs, 0.95),
      },
    })
  }
  return out
}

/** Fewest constant replicas meeting `sloP95Ms` in every window (capped at the pool's maximum). */
export function peakReplicas(
  pool: ScalingPool,
  loads: readonly WindowLoad[],
  sloP95Ms: number,
): number {
  let n = pool.minReplicas
  for (const w of loads) n = Math.max(n, requiredReplicas(pool, w.ratePerS, w.mix, sloP95Ms))
  return Math.min(pool.maxReplicas, n)
}

/**
 * @module scaling/simulate-fleet
 * Replays a request trace against one pool under a right-sizing policy, window by window: at each
 * window's start the policy picks the replica count from what was observed so far; new replicas
 * serve after the cold start (their start-up energy is charged); requests are served by the
 * replicas ready in their window at the steady-state batch of that window's load (Little's law on
 * the fitted profile), and queue (fluid model) when the ready replicas cannot keep up, or when none
 * is ready (the first arrival then starts one, as KEDA's activation does). Each request's latency is
 * its queueing wait plus its own prefill and decode time at the window's batch; over the SLO it is a
 * miss. Energy is the ready replicas' profile power at their batch over the window (split into idle
 * and active by the M/G/∞ empty probability), plus prefill energy per input token, plus cold starts.
 *
 * A window-level (fluid) model, not a token-level one: it is what makes a day of traffic and four
 * policies replay in well under a second, and it is the same model the live scaler plans with.
 */
import type { WindowObservation } from './forecast.ts'
import type { RequestMix, ScalingPool } from './pool.ts'
import type { ScalingInput, ScalingPolicy } from './policies.ts'
import { carbonOfItEnergy } from '../accounting/carbon.ts'
import { MS_PER_HOUR } from '../units/quantity.ts'
import {
  idleFraction,
  replicaCapacityPerS,
  replicaPowerW,
  serviceTimeMs,
  steadyState,
} from './steady-state.ts'

export interface FleetTrace {
  /** Arrival times, epoch ms, ascending. */
  readonly arrivalMs: ArrayLike<number>
  readonly inputTokens: ArrayLike<number>
  readonly outputTokens: ArrayLike<number>
}

export interface FleetSimulationInput {
  readonly pool: ScalingPool
  readonly policy: ScalingPolicy
  readonly trace: FleetTrace
  readonly sloP95Ms: number
  readonly windowMs: number
  /** Replicas running when the replay starts (default: the policy's first decision, already warm). */
  readonly initialReplicas?: number
  /** Grid intensity at a time, gCO2e/kWh (default: none, carbon 0). */
  readonly intensityAt?: (ms: number) => number
  /** Median intensity over the day around a time (carbon-aware deferral). */
  readonly dayMedianAt?: (ms: number) => number
  readonly deferralPct?: number
  /** Results count only requests and energy from this time on (an earlier warm-up period). */
  readonly measureFromMs?: number
}

export interface FleetWindow {
  readonly startMs: number
  readonly targetReplicas: number
  readonly readyReplicas: number
  readonly startingReplicas: number
  readonly arrivals: number
  readonly meanBatch: number
  readonly energyJ: number
  /** Requests of this window over the SLO. */
  readonly sloMisses: number
  readonly reason: string
}

export interface FleetTotals {
  readonly requests: number
  /** IT energy, J: serving + prefill + cold starts. */
  readonly energyJ: number
  readonly idleEnergyJ: number
  readonly coldStartEnergyJ: number
  /** Prompt (prefill) energy, J: tokens × energy per input token, the same under every policy. */
  readonly prefillEnergyJ: number
  /** Facility energy × intensity, g. */
  readonly carbonG: number
  readonly replicaHours: number
  readonly coldStarts: number
  readonly sloMisses: number
  readonly p95LatencyMs: number
}

export interface FleetSimulation {
  readonly policy: string
  readonly windows: readonly FleetWindow[]
  readonly totals: FleetTotals
}

interface Starting {
  readonly readyAtMs: number
  count: number
}

/** Runs `policy` over the trace. */
export function simulateFleet(input: FleetSimulationInput): FleetSimulation {
  const { pool, policy, trace, windowMs } = input
  const n = trace.arrivalMs.length
  const windows: FleetWindow[] = []
  const history: WindowObservation[] = []
  const latencies: number[] = []
  const from = input.measureFromMs ?? Number.NEGATIVE_INFINITY
  let energyJ = 0
  let idleJ = 0
  let coldJ = 0
  let prefillTotalJ = 0
  let carbonG = 0
  let replicaMs = 0
  let coldStarts = 0
  let misses = 0
  let requests = 0
  if (n === 0) return { policy: policy.name, windows, totals: totalsOf() }

  const t0 = Math.floor((trace.arrivalMs[0] as number) / windowMs) * windowMs
  const tEnd = (trace.arrivalMs[n - 1] as number) + 1
  let ready = -1
  const starting: Starting[] = []
  let backlog = 0 // requests waiting (fluid)
  let next = 0 // next request index

  for (let w = t0; w < tEnd; w += windowMs) {
    const measured = w >= from
    const intensity = input.intensityAt?.(w) ?? 0
    // Replicas that finished starting.
    for (let i = starting.length - 1; i >= 0; i--) {
      const s = starting[i] as Starting
      if (s.readyAtMs <= w) {
        ready += s.count
        starting.splice(i, 1)
      }
    }
    const decisionInput: ScalingInput = {
      pool,
      sloP95Ms: input.sloP95Ms,
      windowMs,
      nowMs: w,
      current: Math.max(0, ready) + startingCount(),
      history,
      ...(input.intensityAt !== undefined && input.dayMedianAt !== undefined
        ? { intensity: { nowGPerKwh: intensity, dayMedianGPerKwh: input.dayMedianAt(w) } }
        : {}),
      ...(input.deferralPct === undefined ? {} : { deferralPct: input.deferralPct }),
    }
    const decision = policy.decide(decisionInput)
    const target = decision.replicas
    if (ready < 0) {
      // The replay starts with the fleet already warm.
      ready = input.initialReplicas ?? target
    } else {
      const have = ready + startingCount()
      if (target > have) start(target - have, w)
      else if (target < have) stop(have - target)
    }

    // This window's arrivals.
    let end = next
    while (end < n && (trace.arrivalMs[end] as number) < w + windowMs) end++
    const arrivals = end - next
    if (arrivals > 0 && ready === 0 && startingCount() === 0)
      start(1, trace.arrivalMs[next] as number)
    const mix = mixOf(next, end)
    const ratePerS = arrivals / (windowMs / 1000)
    const steady = steadyState(pool, ready, ratePerS + backlog / (windowMs / 1000), mix)
    const oneReplicaPerS = arrivals > 0 ? replicaCapacityPerS(pool, mix) : 1
    const capacityPerS = ready > 0 ? ready * oneReplicaPerS : 0
    const firstReadyMs =
      ready > 0 ? w : Math.min(...starting.map((s) => s.readyAtMs), Number.POSITIVE_INFINITY)

    // Requests: wait in the fluid queue, then run at the window's batch.
    const batch = steady.batch
    let q = backlog
    let lastMs = w
    let prefillJ = 0
    let windowMisses = 0
    for (let i = next; i < end; i++) {
      const at = trace.arrivalMs[i] as number
      const dt = (at - lastMs) / 1000
      lastMs = at
      let waitMs: number
      if (ready > 0) {
        q = Math.max(0, q + (ratePerS - capacityPerS) * dt)
        waitMs = capacityPerS > 0 ? (q / capacityPerS) * 1000 : 0
      } else {
        q += 1
        waitMs = Math.max(0, firstReadyMs - at) + (q / oneReplicaPerS) * 1000
      }
      const latency =
        waitMs +
        serviceTimeMs(
          pool,
          Math.max(batch, 1),
          trace.inputTokens[i] as number,
          trace.outputTokens[i] as number,
          steady.prefillShare,
        )
      if (at >= from) {
        requests++
        latencies.push(latency)
        if (latency > input.sloP95Ms) {
          misses++
          windowMisses++
        }
        prefillJ += (trace.inputTokens[i] as number) * pool.profile.energyPerInputToken(batch).value
      }
    }
    // Queue left at the window's end.
    backlog =
      ready > 0 ? Math.max(0, q + (ratePerS - capacityPerS) * ((w + windowMs - lastMs) / 1000)) : q
    if (ready > 0 && backlog > 0 && !steady.overloaded) backlog = 0

    // Decode power for the time not spent prefilling; prefill is charged per prompt token.
    const decodeShare = 1 - steady.prefillShare
    const powerW = ready * replicaPowerW(pool, batch) * decodeShare
    const windowJ = powerW * (windowMs / 1000)
    if (measured) {
      energyJ += windowJ + prefillJ
      prefillTotalJ += prefillJ
      idleJ +=
        ready * pool.profile.idlePower * idleFraction(batch) * decodeShare * (windowMs / 1000)
      carbonG += carbonOfItEnergy(windowJ + prefillJ, pool.pue, intensity)
      replicaMs += (ready + startingCount()) * windowMs
    }
    windows.push({
      startMs: w,
      targetReplicas: target,
      readyReplicas: ready,
      startingReplicas: startingCount(),
      arrivals,
      meanBatch: batch,
      energyJ: windowJ,
      sloMisses: windowMisses,
      reason: decision.reason,
    })
    history.push({
      startMs: w,
      durationMs: windowMs,
      arrivals,
      mix,
      readyReplicas: ready,
      meanBatch: batch,
    })
    next = end

    function start(count: number, atMs: number): void {
      starting.push({ readyAtMs: atMs + pool.coldStartMs, count })
      const j = count * pool.coldStartPowerW * (pool.coldStartMs / 1000)
      if (atMs >= from) {
        coldStarts += count
        coldJ += j
        energyJ += j
        carbonG += carbonOfItEnergy(j, pool.pue, input.intensityAt?.(atMs) ?? 0)
      }
    }
  }
  return { policy: policy.name, windows, totals: totalsOf() }

  function startingCount(): number {
    let c = 0
    for (const s of starting) c += s.count
    return c
  }

  function stop(count: number): void {
    // Cancel replicas still starting first (latest first), then stop serving ones.
    let left = count
    for (let i = starting.length - 1; i >= 0 && left > 0; i--) {
      const s = starting[i] as Starting
      const k = Math.min(s.count, left)
      s.count -= k
      left -= k
      if (s.count === 0) starting.splice(i, 1)
    }
    ready = Math.max(0, ready - left)
  }

  function mixOf(a: number, b: number): RequestMix {
    if (b <= a)
      return { meanInputTokens: 0, meanOutputTokens: 0, p95InputTokens: 0, p95OutputTokens: 0 }
    const ins: number[] = []
    const outs: number[] = []
    for (let i = a; i < b; i++) {
      ins.push(trace.inputTokens[i] as number)
      outs.push(trace.outputTokens[i] as number)
    }
    return {
      meanInputTokens: mean(ins),
      meanOutputTokens: mean(outs),
      p95InputTokens: quantile(ins, 0.95),
      p95OutputTokens: quantile(outs, 0.95),
    }
  }

  function totalsOf(): FleetTotals {
    return {
      requests,
      energyJ,
      idleEnergyJ: idleJ,
      coldStartEnergyJ: coldJ,
      prefillEnergyJ: prefillTotalJ,
      carbonG,
      replicaHours: replicaMs / MS_PER_HOUR,
      coldStarts,
      sloMisses: misses,
      p95LatencyMs: latencies.length === 0 ? 0 : quantile(latencies, 0.95),
    }
  }
}

function mean(xs: readonly number[]): number {
  let s = 0
  for (const x of xs) s += x
  return xs.length === 0 ? 0 : s / xs.length
}

/** Nearest-rank quantile (sorts a copy). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  ] as number
}

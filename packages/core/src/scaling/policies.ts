/**
 * @module scaling/policies
 * Right-sizing policies: each decides, at the start of a window, how many replicas a pool should
 * run, from what it observed so far (time and history arrive as data; no policy keeps hidden state,
 * so the replay and the live gateway get the same answer from the same history).
 *
 * - `static-peak`: the fleet provisioned for the peak, all the time (today's implicit fleet).
 * - `reactive`: utilisation thresholds, like Kubernetes' HPA: scale to keep utilisation (slots in use
 *   or arrivals against full-replica throughput, the busier) near a target, up at once, down only
 *   after a stabilisation period.
 * - `predictive`: the fewest replicas whose p95 latency meets the SLO at the forecast load
 *   (seasonal-naive, never below the recent rate, +headroom), planned a cold start ahead.
 * - `energy-optimal`: among the replica counts that meet the SLO at the forecast load, the one with
 *   the least energy (or carbon) over the window, counting idle power and the energy of cold starts
 *   it would cause; scales to zero where `min_replicas` is 0; with a deferral budget, accepts more
 *   queueing within the SLO's slack while the grid is dirtier than its daily median
 *   (DynamoLLM-like, Stojkovic et al., HPCA 2025, without GPU frequency scaling: docs/scaling.md).
 */
import { WattlineError } from '../errors.ts'
import { closeMatches } from '../text/close-matches.ts'
import {
  DEFAULT_FORECAST,
  forecastLoad,
  type ForecastOptions,
  type WindowObservation,
} from './forecast.ts'
import type { ScalingPool } from './pool.ts'
import {
  p95LatencyMs,
  replicaCapacityPerS,
  requiredReplicas,
  servingEnergyJ,
} from './steady-state.ts'

export const SCALING_POLICIES = ['static-peak', 'reactive', 'predictive', 'energy-optimal'] as const
export type ScalingPolicyName = (typeof SCALING_POLICIES)[number]

export interface ScalingInput {
  readonly pool: ScalingPool
  /** p95 end-to-end latency objective, ms. */
  readonly sloP95Ms: number
  /** Length of a decision window, ms. */
  readonly windowMs: number
  /** Start of the window being decided, epoch ms. */
  readonly nowMs: number
  /** Replicas serving or starting now. */
  readonly current: number
  /** Past windows, oldest first, ending with the last completed one. */
  readonly history: readonly WindowObservation[]
  /** Grid intensity now and its median over the day, gCO2e/kWh (carbon-aware policies). */
  readonly intensity?: { readonly nowGPerKwh: number; readonly dayMedianGPerKwh: number }
  /** Extra p95 latency allowed while the grid is dirtier than its median, % of the SLO. */
  readonly deferralPct?: number
}

export interface ScalingDecision {
  readonly replicas: number
  /** Why, in a few words (shown in replay reports and the scaler endpoint). */
  readonly reason: string
  /** The arrival rate the decision planned for, requests/s. */
  readonly plannedRatePerS: number
}

export interface ScalingPolicy {
  readonly name: ScalingPolicyName
  decide(input: ScalingInput): ScalingDecision
}

export interface ScalingPolicyOptions {
  /** `static-peak`: the replicas provisioned (default: the pool's maximum). */
  readonly staticReplicas?: number
  /** `reactive`: target running batch as a share of the slots (0–1). */
  readonly targetUtilisation?: number
  /** `reactive`: scale down only to the highest recommendation of this long, ms. */
  readonly stabilisationMs?: number
  readonly forecast?: Partial<ForecastOptions>
}

const clamp = (pool: ScalingPool, n: number): number =>
  Math.min(pool.maxReplicas, Math.max(pool.minReplicas, Math.ceil(n)))

/** Creates a right-sizing policy by name; unknown names fail with the list of known ones. */
export function createScalingPolicy(
  name: string,
  options: ScalingPolicyOptions = {},
): ScalingPolicy {
  switch (name) {
    case 'static-peak':
      return {
        name,
        decide: ({ pool }) => {
          const n = clamp(pool, options.staticReplicas ?? pool.maxReplicas)
          return { replicas: n, reason: 'provisioned for the peak', plannedRatePerS: Number.NaN }
        },
      }
    case 'reactive':
      return { name, decide: (input) => reactive(input, options) }
    case 'predictive':
      return { name, decide: (input) => predictive(input, options) }
    case 'energy-optimal':
      return { name, decide: (input) => energyOptimal(input, options) }
    default:
      throw new WattlineError('WL_INVALID_INPUT', `unknown scaling policy "${name}"`, {
        details: {
          field: 'scaling policy',
          allowed: SCALING_POLICIES,
          matches: closeMatches(name, SCALING_POLICIES),
        },
      })
  }
}

function reactive(input: ScalingInput, options: ScalingPolicyOptions): ScalingDecision {
  const { pool, history } = input
  const target = options.targetUtilisation ?? 0.7
  const last = history[history.length - 1]
  if (last === undefined)
    return { replicas: clamp(pool, input.current), reason: 'no load seen yet', plannedRatePerS: 0 }
  // Utilisation of the serving replicas: the busier of slots in use and arrivals against what the
  // replicas complete when full (prompts are compute-bound, so a prefill-heavy mix saturates a
  // replica before its slots fill). Scaled to keep it at the target, like the HPA's formula.
  const want = (o: WindowObservation): number => {
    if (o.arrivals > 0 && o.readyReplicas === 0) return 1
    const slots = (o.readyReplicas * o.meanBatch) / pool.slotsPerReplica
    const capacity = replicaCapacityPerS(pool, o.mix)
    const rate = o.arrivals / (o.durationMs / 1000)
    const busy = capacity > 0 && Number.isFinite(capacity) ? rate / capacity : 0
    return Math.max(slots, busy) / target
  }
  const now = clamp(pool, want(last))
  // Scale down only as far as the highest recommendation over the stabilisation period.
  const since = input.nowMs - (options.stabilisationMs ?? 300_000)
  let keep = now
  for (let i = history.length - 1; i >= 0; i--) {
    const o = history[i] as WindowObservation
    if (o.startMs < since) break
    keep = Math.max(keep, clamp(pool, want(o)))
  }
  const replicas = now >= input.current ? now : Math.min(input.current, keep)
  return {
    replicas,
    reason: `utilisation ${((want(last) * target * 100) / Math.max(1, last.readyReplicas)).toFixed(0)} % (target ${(target * 100).toFixed(0)} %)`,
    plannedRatePerS: last.arrivals / (last.durationMs / 1000),
  }
}

function forecastOptions(input: ScalingInput, options: ScalingPolicyOptions): ForecastOptions {
  return { ...DEFAULT_FORECAST, leadMs: input.pool.coldStartMs, ...options.forecast }
}

function predictive(input: ScalingInput, options: ScalingPolicyOptions): ScalingDecision {
  const f = forecastLoad(input.history, input.nowMs, forecastOptions(input, options))
  const n = requiredReplicas(input.pool, f.ratePerS, f.mix, input.sloP95Ms)
  return {
    replicas: clamp(input.pool, n),
    reason: `p95 within SLO at the ${f.basis} forecast`,
    plannedRatePerS: f.ratePerS,
  }
}

function energyOptimal(input: ScalingInput, options: ScalingPolicyOptions): ScalingDecision {
  const now = energyOptimalAt(input, options, input.history)
  if (now.replicas >= input.current) return now
  // Scale down only as far as the highest plan over the hold period: a replica stopped now and
  // started again within it costs a cold start. Default hold: the ski-rental break-even, the time a
  // kept replica takes to draw a cold start's energy at no less than idle power (an upper bound on
  // the break-even: any kept replica draws at least that).
  const { pool } = input
  const breakEvenMs =
    (pool.coldStartPowerW * pool.coldStartMs) / Math.max(1, pool.profile.idlePower)
  const since = input.nowMs - (options.stabilisationMs ?? breakEvenMs)
  let keep = now.replicas
  for (let i = input.history.length - 1; i >= 0; i--) {
    const o = input.history[i] as WindowObservation
    if (o.startMs < since) break
    const past = energyOptimalAt(
      { ...input, nowMs: o.startMs, current: o.readyReplicas },
      options,
      input.history.slice(0, i),
    )
    keep = Math.max(keep, past.replicas)
  }
  return keep === now.replicas
    ? now
    : {
        ...now,
        replicas: Math.min(input.current, keep),
        reason: `${now.reason}; held for stabilisation`,
      }
}

function energyOptimalAt(
  input: ScalingInput,
  options: ScalingPolicyOptions,
  history: readonly WindowObservation[],
): ScalingDecision {
  const { pool } = input
  const f = forecastLoad(history, input.nowMs, {
    // The same forecast as `predictive`: energy-optimal differs only in its objective and hold. (A
    // tighter one of its own, +5 % over 2 windows, saved 4–8 points more energy in bench:scaling but
    // pushed misses past static-peak + 0.5 pp in 2 of 6 cases: docs/benchmarks.md.)
    ...forecastOptions(input, options),
  })
  const dirty =
    input.intensity !== undefined &&
    input.intensity.nowGPerKwh > input.intensity.dayMedianGPerKwh &&
    (input.deferralPct ?? 0) > 0
  const slo = input.sloP95Ms * (dirty ? 1 + (input.deferralPct ?? 0) / 100 : 1)
  if (f.ratePerS <= 0 && pool.minReplicas === 0)
    return { replicas: 0, reason: 'no load forecast: scale to zero', plannedRatePerS: 0 }
  const lowest = requiredReplicas(pool, f.ratePerS, f.mix, slo)
  let best = lowest
  let bestJ = Number.POSITIVE_INFINITY
  // The objective `lowest` met (the SLO, or the best the p95 request can get when it alone exceeds it).
  const objective = Math.max(slo, p95LatencyMs(pool, lowest, f.ratePerS, f.mix))
  for (let n = lowest; n <= pool.maxReplicas; n++) {
    if (p95LatencyMs(pool, n, f.ratePerS, f.mix) > objective) continue
    const starts = Math.max(0, n - input.current)
    const joules =
      servingEnergyJ(pool, n, f.ratePerS, f.mix, input.windowMs) +
      starts * pool.coldStartPowerW * (pool.coldStartMs / 1000)
    if (joules < bestJ) {
      best = n
      bestJ = joules
    }
  }
  return {
    replicas: clamp(pool, best),
    reason: `least energy within the SLO${dirty ? ` (+${input.deferralPct} % slack: grid above its median)` : ''} at the ${f.basis} forecast`,
    plannedRatePerS: f.ratePerS,
  }
}

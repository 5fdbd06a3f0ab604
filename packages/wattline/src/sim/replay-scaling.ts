/**
 * @module sim/replay-scaling
 * `wattline replay --scaling …`: right-sizing policies replayed on the fleet's backend pools, side by
 * side with `static-peak` (the fleet provisioned for its busiest window). Each backend is one pool of
 * identical replicas (its profile, `max_concurrency` slots per replica, `min_replicas` /
 * `max_replicas` / `cold_start_s` from the fleet file); the trace is split across pools by a smooth
 * weighted round-robin on the backends' `weight` (routing is replayed separately, by the routing
 * policies); each pool plans for the tightest p95 SLO of the services that may use it. The policies
 * and the window-level simulation are the core's (`@wattline/core` scaling), the same code the live
 * scaler runs. With `diurnalDays`, the trace is first stretched over that many days on BurstGPT's
 * hourly shape and only the last day is measured (the others warm the seasonal forecast).
 * All figures are modelled from the fitted profiles.
 */
import {
  buildDiurnalDay,
  createScalingPolicy,
  DEFAULT_COLD_START_MS,
  peakReplicas,
  simulateFleet,
  WattlineError,
  windowLoads,
  type FleetTotals,
  type FleetTrace,
  type ScalingPolicyName,
  type ScalingPool,
} from '@wattline/core'
import type { ZoneSteps } from './intensity-steps.ts'
import { servesModel, type Fleet, type FleetBackend } from './load-fleet.ts'

const DAY_MS = 86_400_000

export interface ScalingReplayOptions {
  readonly policies: readonly ScalingPolicyName[]
  /** Decision window, ms. */
  readonly windowMs: number
  /** Stretch the trace over this many days (diurnal shape) and measure the last; 0: as recorded. */
  readonly diurnalDays: number
  /** Per-service deferral budget while the grid is above its daily median, % of the SLO. */
  readonly deferralPct?: number
  /** Zone steps covering the replayed span (see `scalingSpan`). */
  readonly zoneSteps: ReadonlyMap<string, ZoneSteps>
}

export interface ScalingPoolRun {
  readonly pool: string
  readonly totals: FleetTotals
  /** Serving replicas per measured window. */
  readonly replicas: readonly number[]
}

export interface ScalingPolicyRun {
  readonly name: ScalingPolicyName
  readonly totals: FleetTotals
  readonly pools: readonly ScalingPoolRun[]
}

export interface ScalingReplay {
  readonly windowMs: number
  readonly measureFromMs: number
  readonly measureToMs: number
  readonly diurnalDays: number
  readonly pools: readonly {
    readonly id: string
    readonly zone: string
    readonly sloP95Ms: number
    readonly slotsPerReplica: number
    readonly minReplicas: number
    readonly maxReplicas: number
    readonly coldStartMs: number
    readonly staticPeakReplicas: number
    readonly requests: number
  }[]
  readonly policies: readonly ScalingPolicyRun[]
}

/** The trace the scaling replay runs on (stretched when asked) and its measured span. */
export function scalingTrace(
  trace: FleetTrace,
  diurnalDays: number,
): { trace: FleetTrace; fromMs: number; toMs: number } {
  const n = trace.arrivalMs.length
  const first = trace.arrivalMs[0] as number
  if (diurnalDays <= 0)
    return { trace, fromMs: first, toMs: (trace.arrivalMs[n - 1] as number) + 1 }
  const start = Math.floor(first / 3_600_000) * 3_600_000
  const stretched = buildDiurnalDay(trace, start, diurnalDays)
  return {
    trace: stretched,
    fromMs: start + (diurnalDays - 1) * DAY_MS,
    toMs: start + diurnalDays * DAY_MS,
  }
}

/** Runs each scaling policy on each pool of `fleet`. */
export function runScalingReplay(
  source: FleetTrace,
  fleet: Fleet,
  options: ScalingReplayOptions,
): ScalingReplay {
  const { trace, fromMs, toMs } = scalingTrace(source, options.diurnalDays)
  const split = splitByWeight(trace, fleet.backends)
  const pools = fleet.backends.map((b, i) => {
    const sub = split[i] as FleetTrace
    const slo = poolSlo(fleet, b)
    const loads = windowLoads(sub, options.windowMs, fromMs, toMs)
    const base: ScalingPool = {
      id: b.id,
      zone: b.zone,
      profile: b.profile,
      slotsPerReplica: b.maxConcurrency,
      minReplicas: b.scaling?.minReplicas ?? 1,
      maxReplicas: Number.MAX_SAFE_INTEGER,
      coldStartMs: b.scaling?.coldStartMs ?? DEFAULT_COLD_START_MS,
      coldStartPowerW: b.profile.idlePower,
      pue: b.pue,
    }
    // Default range top: what the busiest window needs, or the configured replicas if more.
    const need = peakReplicas({ ...base, maxReplicas: 100_000 }, loads, slo)
    const pool: ScalingPool = {
      ...base,
      maxReplicas: b.scaling?.maxReplicas ?? Math.max(b.replicas, need, base.minReplicas, 1),
    }
    return {
      pool,
      slo,
      trace: sub,
      staticPeak: peakReplicas(pool, loads, slo),
      requests: countIn(sub, fromMs, toMs),
    }
  })

  const policies = options.policies.map((name): ScalingPolicyRun => {
    const runs = pools.map((p) => {
      const steps = options.zoneSteps.get(p.pool.zone)
      const intensityAt = (ms: number): number => (steps === undefined ? 0 : stepAt(steps, ms))
      const r = simulateFleet({
        pool: p.pool,
        policy: createScalingPolicy(name, { staticReplicas: p.staticPeak }),
        trace: p.trace,
        sloP95Ms: p.slo,
        windowMs: options.windowMs,
        measureFromMs: fromMs,
        intensityAt,
        dayMedianAt: (ms) => dayMedian(intensityAt, ms),
        ...(options.deferralPct === undefined ? {} : { deferralPct: options.deferralPct }),
      })
      return {
        pool: p.pool.id,
        totals: r.totals,
        replicas: r.windows.filter((w) => w.startMs >= fromMs).map((w) => w.readyReplicas),
        firstWindowMs: r.windows.find((w) => w.startMs >= fromMs)?.startMs ?? fromMs,
      }
    })
    return {
      name,
      totals: sumTotals(runs.map((r) => r.totals)),
      pools: runs.map(({ pool, totals, replicas }) => ({ pool, totals, replicas })),
    }
  })
  return {
    windowMs: options.windowMs,
    measureFromMs: fromMs,
    measureToMs: toMs,
    diurnalDays: options.diurnalDays,
    pools: pools.map((p) => ({
      id: p.pool.id,
      zone: p.pool.zone,
      sloP95Ms: p.slo,
      slotsPerReplica: p.pool.slotsPerReplica,
      minReplicas: p.pool.minReplicas,
      maxReplicas: p.pool.maxReplicas,
      coldStartMs: p.pool.coldStartMs,
      staticPeakReplicas: p.staticPeak,
      requests: p.requests,
    })),
    policies,
  }
}

/** Tightest p95 SLO among the services that may use backend `b`. */
function poolSlo(fleet: Fleet, b: FleetBackend): number {
  let slo = Number.POSITIVE_INFINITY
  for (const s of fleet.services) {
    if (s.backends !== undefined && !s.backends.includes(b.id)) continue
    if (!servesModel(b, s.model)) continue
    if (s.sloMs !== undefined) slo = Math.min(slo, s.sloMs)
  }
  if (!Number.isFinite(slo))
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `--scaling: backend "${b.id}" has no service with an SLO to plan for; set services[].slo.p95_latency_ms`,
      { details: { field: 'services[].slo.p95_latency_ms', backend: b.id } },
    )
  return slo
}

/** Smooth weighted round-robin (nginx's) over the backends, request by request. */
function splitByWeight(trace: FleetTrace, backends: readonly FleetBackend[]): FleetTrace[] {
  const k = backends.length
  const weights = backends.map((b) => (b.weight > 0 ? b.weight : 0))
  const total = weights.reduce((a, b) => a + b, 0)
  if (!(total > 0))
    throw new WattlineError('WL_INVALID_INPUT', '--scaling: every backend has weight 0', {
      details: { field: 'backends[].weight' },
    })
  const current = new Array<number>(k).fill(0)
  const idx: number[][] = backends.map(() => [])
  for (let i = 0; i < trace.arrivalMs.length; i++) {
    let best = 0
    for (let j = 0; j < k; j++) {
      current[j] = (current[j] as number) + (weights[j] as number)
      if ((current[j] as number) > (current[best] as number)) best = j
    }
    current[best] = (current[best] as number) - total
    ;(idx[best] as number[]).push(i)
  }
  return idx.map((is) => ({
    arrivalMs: Float64Array.from(is, (i) => trace.arrivalMs[i] as number),
    inputTokens: Float64Array.from(is, (i) => trace.inputTokens[i] as number),
    outputTokens: Float64Array.from(is, (i) => trace.outputTokens[i] as number),
  }))
}

function countIn(trace: FleetTrace, fromMs: number, toMs: number): number {
  let c = 0
  for (let i = 0; i < trace.arrivalMs.length; i++) {
    const t = trace.arrivalMs[i] as number
    if (t >= fromMs && t < toMs) c++
  }
  return c
}

function stepAt(steps: ZoneSteps, ms: number): number {
  let lo = 0
  let hi = steps.at.length - 1
  if (hi < 0) return 0
  if (ms < (steps.at[0] as number)) return steps.value[0] as number
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if ((steps.at[mid] as number) <= ms) lo = mid
    else hi = mid - 1
  }
  return steps.value[lo] as number
}

/** Median of the 24 hourly values of the UTC day around `ms`. */
function dayMedian(intensityAt: (ms: number) => number, ms: number): number {
  const d = Math.floor(ms / DAY_MS) * DAY_MS
  const xs = Array.from({ length: 24 }, (_, h) => intensityAt(d + h * 3_600_000)).sort(
    (a, b) => a - b,
  )
  return ((xs[11] as number) + (xs[12] as number)) / 2
}

function sumTotals(ts: readonly FleetTotals[]): FleetTotals {
  const sum = (f: (t: FleetTotals) => number): number => ts.reduce((a, t) => a + f(t), 0)
  return {
    requests: sum((t) => t.requests),
    energyJ: sum((t) => t.energyJ),
    idleEnergyJ: sum((t) => t.idleEnergyJ),
    coldStartEnergyJ: sum((t) => t.coldStartEnergyJ),
    prefillEnergyJ: sum((t) => t.prefillEnergyJ),
    carbonG: sum((t) => t.carbonG),
    replicaHours: sum((t) => t.replicaHours),
    coldStarts: sum((t) => t.coldStarts),
    sloMisses: sum((t) => t.sloMisses),
    // The pools' p95s cannot be merged exactly; the worst pool's stands for the fleet.
    p95LatencyMs: Math.max(0, ...ts.map((t) => t.p95LatencyMs)),
  }
}

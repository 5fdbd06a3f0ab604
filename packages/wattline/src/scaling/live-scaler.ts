/**
 * @module scaling/live-scaler
 * The gateway's right-sizing recommendation, live: for every backend with a `scaling:` section (a
 * pool of identical replicas), each window it closes the load it observed (the gateway's own request
 * records, through `scalingSink`), and asks the core's scaling policy (the same code
 * `wattline replay --scaling` runs) for the replica count, with the pool's fitted profile, its
 * services' p95 SLO and deferral budget, and the zone's grid intensity against its median over the
 * last 24 h (from the intensity records the gateway writes). The recommendation is served to KEDA
 * (`GET /scaling/{pool}`), as a Prometheus gauge and on the dashboard. All figures are modelled.
 *
 * Requests are counted in the window in which their record is written (when they finish); the
 * replicas "serving" in a window are taken to be the last recommendation (KEDA follows it).
 *
 * Several gateway replicas (with the cluster Redis, `shared`): each replica publishes its counts of
 * every closed window; a settle time later (two ticks) every replica reads all replicas' counts of
 * that window and decides on their sum, and one replica (the leader) publishes its recommendation,
 * which every replica serves: the same answer on every replica, from the whole fleet's load. When
 * Redis fails, a replica decides and answers from its own load (`load_scope: replica`).
 */
import { Gauge, type Registry } from 'prom-client'
import {
  createScalingPolicy,
  DEFAULT_FORECAST,
  steadyState,
  type EnergyProfile,
  type LedgerRecord,
  type LedgerSink,
  type RequestMix,
  type ScalingDecision,
  type ScalingPolicy,
  type ScalingPolicyName,
  type ScalingPool,
  type WindowObservation,
} from '@wattline/core'
import type { BackendConfig, WattlineConfig } from '../config/parse-config.ts'
import type { ReadActualReplicas } from './actual-replicas.ts'
import {
  addWindows,
  countWindow,
  type SharedScalingLoad,
  type WindowCounts,
} from './shared-scaling-load.ts'

const DAY_MS = 86_400_000

export interface PoolRecommendation {
  readonly pool: string
  readonly zone: string
  readonly policy: ScalingPolicyName
  /** Replicas the pool should run now (KEDA: valueLocation `recommended_replicas`). */
  readonly recommended_replicas: number
  readonly reason: string
  readonly min_replicas: number
  readonly max_replicas: number
  /** Requests per second the decision planned for (forecast), null for static-peak. */
  readonly planned_requests_per_s: number | null
  /** Requests per second observed in the last closed window. */
  readonly observed_requests_per_s: number
  /** Replicas the pool runs, read from `scaling.actual_replicas`; null when not configured or unread. */
  readonly actual_replicas: number | null
  /** When it was read (ISO 8601), or null. */
  readonly actual_replicas_at: string | null
  readonly window_s: number
  readonly slo_p95_ms: number
  readonly deferral_pct: number
  /** Grid intensity now and its median over the last 24 h (gCO2e/kWh); null before any value. */
  readonly intensity_g_per_kwh: number | null
  readonly intensity_day_median_g_per_kwh: number | null
  /** End of the last closed window (ISO 8601); null before the first. */
  readonly updated_at: string | null
  /**
   * Whose load the decision saw: `cluster` = every gateway replica's (shared through Redis),
   * `replica` = this gateway's alone (no cluster Redis, or it failed).
   */
  readonly load_scope: 'cluster' | 'replica'
  /** Gateway replicas whose counts the last window summed (1 with `load_scope: replica`). */
  readonly replicas_reporting: number
  readonly basis: 'modelled'
}

export interface LiveScaler {
  readonly pools: readonly string[]
  /** Feeds one ledger record (requests of the pools' backends, intensity values of their zones). */
  observe(record: LedgerRecord): void
  /**
   * Closes every window that ended by `nowMs` and decides the next. With `shared` it returns a
   * promise (Redis round trips); calls while one runs share it.
   */
  tick(nowMs: number): void | Promise<void>
  recommendation(pool: string): PoolRecommendation | undefined
  /** Reads the actual replica count of every pool that has `actual_replicas` (errors go to `onError`). */
  refreshActual(onError: (pool: string, error: unknown) => void): Promise<void>
  /** How often to tick, ms (a tenth of the shortest decision window). */
  readonly tickMs: number
}

export interface LiveScalerDeps {
  readonly config: WattlineConfig
  /** Reads a pool's actual replicas from its `scaling.actual_replicas` (compose: a Prometheus scrape). */
  readonly readActual: ReadActualReplicas
  /** Energy profile of a backend's (first) model. */
  readonly profileFor: (backend: BackendConfig) => EnergyProfile
  readonly nowMs: number
  /** Clock for the time an actual count was read (default: the system's). */
  readonly now?: () => number
  readonly registry?: Registry
  /** The load of every gateway replica (cluster Redis); omitted = this gateway's alone. */
  readonly shared?: SharedScalingLoad
  /** Shared-load failures (the scaler then counts this replica alone until Redis answers). */
  readonly onSharedError?: (error: unknown) => void
}

interface PoolState {
  readonly backend: BackendConfig
  readonly pool: ScalingPool
  readonly policy: ScalingPolicy
  readonly sloP95Ms: number
  readonly deferralPct: number
  readonly windowMs: number
  windowStart: number
  inputs: number[]
  outputs: number[]
  readonly history: WindowObservation[]
  decision: ScalingDecision
  lastRate: number
  updatedAt: number | null
  actual: number | null
  actualAt: number | null
  /** Shared mode: closed windows waiting for every replica's counts (own counts kept). */
  readonly pending: { readonly startMs: number; readonly own: WindowCounts }[]
  /** Shared mode: the leader's recommendation, served by every replica; null = none (own). */
  served: PoolRecommendation | null
  scope: 'cluster' | 'replica'
  reporting: number
}

/** Longest history kept: a seasonal period plus the lead and a margin. */
const HISTORY_MS = DEFAULT_FORECAST.periodMs + 2 * 3_600_000

/** Creates the scaler for the config's backends that have `scaling:` (none: no pools). */
export function createLiveScaler(deps: LiveScalerDeps): LiveScaler {
  const { config } = deps
  const { readActual } = deps
  const now = deps.now ?? Date.now
  const states = new Map<string, PoolState>()
  const intensity = new Map<string, { at: number; value: number }[]>()
  for (const b of config.backends) {
    const s = b.scaling
    if (s === undefined) continue
    const profile = deps.profileFor(b)
    const slo = poolSlo(config, b)
    const pool: ScalingPool = {
      id: b.id,
      zone: b.zone,
      profile,
      slotsPerReplica: s.slots_per_replica ?? b.max_concurrency,
      minReplicas: s.min_replicas,
      maxReplicas: s.max_replicas,
      coldStartMs: s.cold_start_s * 1000,
      coldStartPowerW: profile.idlePower,
      pue: b.pue,
    }
    const policy = createScalingPolicy(s.policy, {
      ...(s.static_replicas === undefined ? {} : { staticReplicas: s.static_replicas }),
    })
    const windowMs = s.window_s * 1000
    const windowStart = Math.floor(deps.nowMs / windowMs) * windowMs
    const state: PoolState = {
      backend: b,
      pool,
      policy,
      sloP95Ms: slo.sloP95Ms,
      deferralPct: slo.deferralPct,
      windowMs,
      windowStart,
      inputs: [],
      outputs: [],
      history: [],
      decision: { replicas: 0, reason: '', plannedRatePerS: 0 },
      lastRate: 0,
      updatedAt: null,
      actual: null,
      actualAt: null,
      pending: [],
      served: null,
      scope: 'replica',
      reporting: 1,
    }
    state.decision = decide(state, s.min_replicas)
    states.set(b.id, state)
  }

  const gauge =
    deps.registry === undefined || states.size === 0
      ? undefined
      : new Gauge({
          name: 'wattline_scaling_recommended_replicas',
          help: 'Replicas the right-sizing policy recommends for the pool now (modelled; GET /scaling/{pool})',
          labelNames: ['pool', 'policy'],
          registers: [deps.registry],
        })
  const planned =
    deps.registry === undefined || states.size === 0
      ? undefined
      : new Gauge({
          name: 'wattline_scaling_planned_requests_per_second',
          help: 'Arrival rate the right-sizing decision planned for, requests/s (forecast from the observed load)',
          labelNames: ['pool'],
          registers: [deps.registry],
        })
  const publish = (s: PoolState): void => {
    gauge?.set({ pool: s.pool.id, policy: s.policy.name }, servedReplicas(s))
    const rate = s.served?.planned_requests_per_s ?? s.decision.plannedRatePerS
    if (rate !== null && Number.isFinite(rate)) planned?.set({ pool: s.pool.id }, rate)
  }
  /** The replica count this gateway serves: the leader's (shared mode), else its own. */
  const servedReplicas = (s: PoolState): number =>
    s.served?.recommended_replicas ?? s.decision.replicas
  for (const s of states.values()) publish(s)

  function intensityNow(zone: string): { now: number; median: number } | undefined {
    const xs = intensity.get(zone)
    if (xs === undefined || xs.length === 0) return undefined
    const sorted = xs.map((x) => x.value).sort((a, b) => a - b)
    const mid = sorted.length >> 1
    const median =
      sorted.length % 2 === 1
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
    return { now: (xs[xs.length - 1] as { value: number }).value, median }
  }

  function decide(s: PoolState, current: number): ScalingDecision {
    const grid = intensityNow(s.pool.zone)
    return s.policy.decide({
      pool: s.pool,
      sloP95Ms: s.sloP95Ms,
      windowMs: s.windowMs,
      nowMs: s.windowStart,
      current,
      history: s.history,
      ...(grid === undefined
        ? {}
        : { intensity: { nowGPerKwh: grid.now, dayMedianGPerKwh: grid.median } }),
      deferralPct: s.deferralPct,
    })
  }

  /** Adds the window starting at `startMs` to the history, with the load `counts`. */
  function record(s: PoolState, startMs: number, counts: WindowCounts): void {
    const arrivals = counts.arrivals
    const mix = mixOf(counts)
    const rate = arrivals / (s.windowMs / 1000)
    // Serving replicas: the count read back when there is one, else the last recommendation.
    const ready = s.actual ?? servedReplicas(s)
    s.history.push({
      startMs,
      durationMs: s.windowMs,
      arrivals,
      mix,
      readyReplicas: ready,
      meanBatch: steadyState(s.pool, ready, rate, mix).batch,
    })
    const keep = Math.ceil(HISTORY_MS / s.windowMs)
    if (s.history.length > keep) s.history.splice(0, s.history.length - keep)
    s.lastRate = rate
    s.updatedAt = startMs + s.windowMs
  }

  /** Ends the current local window: its counts, and the next window starts. */
  function closeLocal(s: PoolState): { startMs: number; counts: WindowCounts } {
    const closed = { startMs: s.windowStart, counts: countWindow(s.inputs, s.outputs) }
    s.inputs = []
    s.outputs = []
    s.windowStart += s.windowMs
    return closed
  }

  /** A gateway idle for longer than the history starts afresh at the current window. */
  function restartIfIdle(s: PoolState, nowMs: number): void {
    if (nowMs - s.windowStart <= HISTORY_MS) return
    s.history.length = 0
    s.pending.length = 0
    s.windowStart = Math.floor(nowMs / s.windowMs) * s.windowMs - s.windowMs
  }

  const tickMs = Math.max(
    100,
    Math.min(...[...states.values()].map((s) => s.windowMs), 60_000) / 10,
  )
  // Shared mode: a window is decided two ticks after it ends (every replica has published it);
  // counts, decisions and the leader lease live a few windows.
  const settleMs = 2 * tickMs
  const keepMs = (s: PoolState): number => 3 * s.windowMs + 2 * settleMs
  const leaseMs = 3 * tickMs + 1000
  let sharedTick: Promise<void> | undefined

  async function tickShared(shared: SharedScalingLoad, nowMs: number): Promise<void> {
    const fail = (error: unknown): void => deps.onSharedError?.(error)
    const leader = await shared.lead(leaseMs).catch((e: unknown) => (fail(e), false))
    for (const s of states.values()) {
      restartIfIdle(s, nowMs)
      while (nowMs >= s.windowStart + s.windowMs) {
        const closed = closeLocal(s)
        s.pending.push({ startMs: closed.startMs, own: closed.counts })
        await shared.publish(s.pool.id, closed.startMs, closed.counts, keepMs(s)).catch(fail)
      }
      let decided = false
      for (;;) {
        const p = s.pending[0]
        if (p === undefined || nowMs < p.startMs + s.windowMs + settleMs) break
        s.pending.shift()
        const parts = await shared.read(s.pool.id, p.startMs).catch((e: unknown) => {
          fail(e)
          return undefined
        })
        // Redis failed (or lost this replica's publish): this replica's own load.
        const cluster = parts !== undefined && parts.length > 0
        record(s, p.startMs, cluster ? addWindows(parts) : p.own)
        s.scope = cluster ? 'cluster' : 'replica'
        s.reporting = cluster ? parts.length : 1
        decided = true
      }
      if (decided) {
        s.decision = decide(s, s.actual ?? servedReplicas(s))
        if (leader) {
          const rec = own(s)
          await shared.putDecision(s.pool.id, JSON.stringify(rec), keepMs(s)).catch(fail)
        }
      }
      const json = await shared.getDecision(s.pool.id).catch((e: unknown) => {
        fail(e)
        return null
      })
      s.served = json === null ? null : leaderRecommendation(json, s.pool.id)
      publish(s)
    }
  }

  /** This gateway's own recommendation of a pool. */
  function own(s: PoolState): PoolRecommendation {
    const grid = intensityNow(s.pool.zone)
    return {
      pool: s.pool.id,
      zone: s.pool.zone,
      policy: s.policy.name,
      recommended_replicas: s.decision.replicas,
      reason: s.decision.reason,
      min_replicas: s.pool.minReplicas,
      max_replicas: s.pool.maxReplicas,
      planned_requests_per_s: Number.isFinite(s.decision.plannedRatePerS)
        ? round(s.decision.plannedRatePerS, 4)
        : null,
      observed_requests_per_s: round(s.lastRate, 4),
      actual_replicas: s.actual,
      actual_replicas_at: s.actualAt === null ? null : new Date(s.actualAt).toISOString(),
      window_s: s.windowMs / 1000,
      slo_p95_ms: s.sloP95Ms,
      deferral_pct: s.deferralPct,
      intensity_g_per_kwh: grid === undefined ? null : grid.now,
      intensity_day_median_g_per_kwh: grid === undefined ? null : grid.median,
      updated_at: s.updatedAt === null ? null : new Date(s.updatedAt).toISOString(),
      load_scope: s.scope,
      replicas_reporting: s.reporting,
      basis: 'modelled',
    }
  }

  return {
    pools: [...states.keys()],
    // A tenth of the shortest window, so a decision follows its window's end closely.
    tickMs,
    observe(record) {
      if (record.kind === 'request') {
        const s = states.get(record.backend)
        if (s === undefined) return
        s.inputs.push(record.input_tokens)
        s.outputs.push(record.output_tokens)
      } else if (record.kind === 'intensity') {
        let xs = intensity.get(record.zone)
        if (xs === undefined) intensity.set(record.zone, (xs = []))
        xs.push({ at: record.at_ms, value: record.intensity_g_per_kwh })
        while (xs.length > 0 && (xs[0] as { at: number }).at < record.at_ms - DAY_MS) xs.shift()
      }
    },
    tick(nowMs) {
      const shared = deps.shared
      if (shared !== undefined) {
        sharedTick ??= tickShared(shared, nowMs).finally(() => {
          sharedTick = undefined
        })
        return sharedTick
      }
      for (const s of states.values()) {
        if (nowMs < s.windowStart + s.windowMs) continue
        restartIfIdle(s, nowMs)
        while (nowMs >= s.windowStart + s.windowMs) {
          const closed = closeLocal(s)
          record(s, closed.startMs, closed.counts)
        }
        s.decision = decide(s, s.actual ?? s.decision.replicas)
        publish(s)
      }
      return undefined
    },
    async refreshActual(onError) {
      await Promise.all(
        [...states.values()].map(async (s) => {
          const source = s.backend.scaling?.actual_replicas
          if (source === undefined) return
          try {
            s.actual = await readActual(source)
            s.actualAt = now()
          } catch (error) {
            // A stale count would steer the plan: forget it until the next good read.
            s.actual = null
            onError(s.pool.id, error)
          }
        }),
      )
    },
    recommendation(id) {
      const s = states.get(id)
      if (s === undefined) return undefined
      return s.served ?? own(s)
    },
  }
}

/** A sink that also feeds the scaler (the gateway's one sink, decorated as tracing does). */
export function scalingSink(inner: LedgerSink, scaler: LiveScaler): LedgerSink {
  return {
    append(record: LedgerRecord) {
      scaler.observe(record)
      inner.append(record)
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
  }
}

/**
 * The SLO a pool plans for: the tightest p95 of the services that may use the backend, and the
 * smallest deferral budget among them (one service without a budget keeps the pool at its SLO).
 */
function poolSlo(
  config: WattlineConfig,
  b: BackendConfig,
): { sloP95Ms: number; deferralPct: number } {
  let slo = Number.POSITIVE_INFINITY
  let deferral = Number.POSITIVE_INFINITY
  for (const s of config.services) {
    if (s.backends !== undefined && !s.backends.includes(b.id)) continue
    if (s.models !== undefined && !s.models.some((m) => b.models.includes(m))) continue
    if (s.slo?.p95_latency_ms === undefined) continue
    slo = Math.min(slo, s.slo.p95_latency_ms)
    deferral = Math.min(deferral, s.slo.deferral_pct ?? 0)
  }
  return Number.isFinite(slo)
    ? { sloP95Ms: slo, deferralPct: deferral }
    : // No service states an SLO: the pool plans for the default one (docs/scaling.md).
      { sloP95Ms: DEFAULT_SCALING_SLO_MS, deferralPct: 0 }
}

/** p95 objective a pool plans for when no service using it states one, ms. */
export const DEFAULT_SCALING_SLO_MS = 30_000

/** The leader's recommendation as stored in Redis; null when it is not one for `pool` (ignored). */
function leaderRecommendation(json: string, pool: string): PoolRecommendation | null {
  try {
    const r = JSON.parse(json) as Partial<PoolRecommendation> | null
    return r !== null &&
      r.pool === pool &&
      typeof r.recommended_replicas === 'number' &&
      Number.isInteger(r.recommended_replicas) &&
      r.recommended_replicas >= 0
      ? (r as PoolRecommendation)
      : null
  } catch {
    return null
  }
}

function mixOf(c: WindowCounts): RequestMix {
  if (c.arrivals === 0)
    return { meanInputTokens: 0, meanOutputTokens: 0, p95InputTokens: 0, p95OutputTokens: 0 }
  return {
    meanInputTokens: c.input_tokens_sum / c.arrivals,
    meanOutputTokens: c.output_tokens_sum / c.arrivals,
    p95InputTokens: c.input_tokens_p95,
    p95OutputTokens: c.output_tokens_p95,
  }
}

const round = (x: number, d: number): number => Number(x.toFixed(d))

/**
 * @module http/backend-runtime
 * The live state of one backend: its upstream, live energy attribution (core's
 * `createLiveAttribution`: work-weighted shares, modelled power from the in-flight models'
 * profiles on top of the hardware's idle power), meter status, circuit breaker, measured latency
 * overhead and the profile of each model it serves. The routing view of a decision is built from
 * it by the gateway's shell around the router (`core/engine/router`).
 *
 * Several processes sharing the backend (`serve --workers N`) exchange their in-flight requests by
 * client model name and phase (`occupancyReport`, `setOthersOccupancy`: the IPC form of core's
 * `ExternalOccupancy`), so each tracker models the backend's power at its total occupancy.
 */
import {
  backendIdlePower,
  breakerAllows,
  BREAKER_CLOSED,
  createLiveAttribution,
  stepBreaker,
  type BreakerConfig,
  type BreakerEvent,
  type BreakerState,
  type EnergyProfile,
  type LiveAttribution,
  type PhaseCounts,
} from '@wattline/core'
import type { Upstream } from './upstream-port.ts'
import type { BackendConfig } from '../config/parse-config.ts'

/** Weight of the newest sample in the latency-overhead moving average. */
const OVERHEAD_ALPHA = 0.2

export interface BackendRuntime {
  readonly config: BackendConfig
  readonly upstream: Upstream
  /** Live attribution of the backend's power to its requests (and idle energy). */
  readonly tracker: LiveAttribution
  /** Profile per client model name. */
  readonly profiles: ReadonlyMap<string, EnergyProfile>
  /** Label of the measured power source, when a meter feeds this backend ('' without one). */
  meterSource: string
  /**
   * True while a configured meter is stale (or has not read yet past its staleness window) and
   * the modelled power stands in for it.
   */
  meterFallback: boolean
  breaker: BreakerState
  /**
   * What the last health signal said: `true` after a passing probe or a successful request,
   * `false` after a failed probe, `undefined` before either. `/readyz` counts a backend up only
   * when its breaker admits it and this is not `false` (a breaker needs several failures to open,
   * so it alone called a refusing backend up for seconds after start).
   */
  reachable: boolean | undefined
  /** Smoothed (actual − predicted compute) latency, ms; undefined before any measurement. */
  overheadMs: number | undefined
}

/** Creates the runtime of a backend at `nowMs`. */
export function createBackendRuntime(
  config: BackendConfig,
  upstream: Upstream,
  profiles: ReadonlyMap<string, EnergyProfile>,
  nowMs: number,
): BackendRuntime {
  return {
    config,
    upstream,
    profiles,
    tracker: createLiveAttribution({
      startMs: nowMs,
      idlePowerW: backendIdlePower(profiles.values()),
    }),
    meterSource: '',
    meterFallback: false,
    breaker: BREAKER_CLOSED,
    reachable: undefined,
    overheadMs: undefined,
  }
}

/** The profile of `model` on this backend (the first model's for a name it does not serve). */
export function profileOf(rt: BackendRuntime, model: string): EnergyProfile {
  return rt.profiles.get(model) ?? (rt.profiles.values().next().value as EnergyProfile)
}

/** A backend's requests in flight by client model name and phase (plain data: crosses IPC). */
export type ModelOccupancy = Readonly<Record<string, PhaseCounts>>

/** This process's requests in flight on the backend at `nowMs`, by client model name and phase. */
export function occupancyReport(rt: BackendRuntime, nowMs: number): ModelOccupancy {
  const out: Record<string, PhaseCounts> = {}
  const own = rt.tracker.occupancy(nowMs).inflight
  if (own.size === 0) return out
  const seen = new Set<EnergyProfile>()
  for (const [model, profile] of rt.profiles) {
    const c = own.get(profile)
    // a profile several model names share is reported once, under the first
    if (c === undefined || seen.has(profile)) continue
    seen.add(profile)
    out[model] = c
  }
  return out
}

/**
 * What the other processes reported in flight on the backend (summed), from `nowMs` on; a model
 * this backend does not serve counts with its first model's profile.
 */
export function setOthersOccupancy(
  rt: BackendRuntime,
  nowMs: number,
  others: ModelOccupancy | undefined,
): void {
  const inflight = new Map<EnergyProfile, PhaseCounts>()
  for (const [model, c] of Object.entries(others ?? {})) {
    const profile = profileOf(rt, model)
    const had = inflight.get(profile)
    inflight.set(
      profile,
      had === undefined
        ? c
        : {
            prefilling: had.prefilling + c.prefilling,
            decoding: had.decoding + c.decoding,
            done: had.done + c.done,
          },
    )
  }
  rt.tracker.setExternal(nowMs, { inflight })
}

/**
 * Other processes' requests in flight on the backend when only their number is known (gateway
 * replicas sharing counts through Redis): counted as decoding requests of the backend's first model.
 */
export function setOthersInflight(rt: BackendRuntime, nowMs: number, count: number): void {
  const model = rt.config.models[0]
  const n = Math.max(0, Math.floor(count))
  setOthersOccupancy(
    rt,
    nowMs,
    model === undefined || n === 0
      ? undefined
      : { [model]: { prefilling: 0, decoding: n, done: 0 } },
  )
}

/** Applies a breaker event; returns true when admission changed (closed/half-open ↔ open). */
export function breakerEvent(
  rt: BackendRuntime,
  event: BreakerEvent,
  config: BreakerConfig,
): boolean {
  const before = breakerAllows(rt.breaker, event.at, config)
  rt.breaker = stepBreaker(rt.breaker, event, config)
  if (event.kind === 'probe-ok' || event.kind === 'success') rt.reachable = true
  else if (event.kind === 'probe-failed') rt.reachable = false
  return before !== breakerAllows(rt.breaker, event.at, config)
}

/** Whether `/readyz` counts the backend up: its breaker admits it and its last probe passed. */
export function backendReady(rt: BackendRuntime): boolean {
  return rt.breaker.kind !== 'open' && rt.reachable !== false
}

/**
 * Feeds a finished request's measured latency into the overhead average: the part of the latency
 * that the profile's compute time at the observed occupancy does not explain.
 */
export function observeLatency(
  rt: BackendRuntime,
  model: string,
  latencyMs: number,
  inputTokens: number,
  outputTokens: number,
  occupancy: number,
): void {
  const profile = rt.profiles.get(model)
  if (profile === undefined) return
  const b = Math.max(1, Math.min(profile.maxBatch, Math.round(occupancy)))
  const compute =
    inputTokens * profile.timePerInputToken(b) + outputTokens * profile.timePerOutputToken(b)
  const sample = Math.max(0, latencyMs - compute - rt.config.rtt_ms)
  rt.overheadMs =
    rt.overheadMs === undefined ? sample : rt.overheadMs + OVERHEAD_ALPHA * (sample - rt.overheadMs)
}

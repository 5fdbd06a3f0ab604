/**
 * @module routing/predict
 * What a backend would cost and how long it would take if it took one more request now. Every policy
 * scores backends from these predictions, so live routing and replays agree on them.
 *
 * The policies call `scanBackends` (every backend of a snapshot into flat arrays, no object per
 * backend); `predict` and `assess` give the same figures as objects, for other callers and tests.
 *
 * Occupancy: the request joins the backend's running batch, so it is predicted at `inflight + 1`
 * (requests already routed but not finished count, which is what keeps a burst of decisions made
 * against the same snapshot from herding onto one backend). Beyond the profile's largest batch the
 * engine queues internally: compute time stretches by `occupancy / maxBatch`.
 */
import type { EnergyProfile } from '../energy/profile.ts'
import {
  carbonOf,
  gramsCo2e,
  gramsPerKwh,
  joules,
  ms,
  type GramsCo2e,
  type Joules,
  type Milliseconds,
} from '../units/quantity.ts'
import type {
  BackendScore,
  BackendState,
  RoutingDecision,
  RoutingPolicyName,
  RoutingRequest,
  RoutingSnapshot,
} from './policy.ts'

/** Predicted outcome of sending one more request to a backend. */
export interface Prediction {
  /** Batch occupancy the request would run at (≥ 1). */
  readonly occupancy: number
  /** IT energy of the request at that occupancy (J, before PUE), from the profile. */
  readonly energy: Joules
  /** Facility energy × the zone's intensity now (gCO2e). */
  readonly carbon: GramsCo2e
  /** Network RTT + measured overhead + prefill + decode, stretched by internal queueing (ms). */
  readonly latency: Milliseconds
}

/** Why a backend cannot take a request; `undefined` when it can. */
export type Ineligibility = 'model' | 'excluded' | 'unhealthy' | 'full' | 'slo'

/** Predicts energy, carbon and latency of `request` on `backend` at its current occupancy. */
export function predict(backend: BackendState, request: RoutingRequest): Prediction {
  predictNumbers(backend, Math.max(0, request.inputTokens), Math.max(0, request.outputTokens))
  return {
    occupancy: lastOccupancy,
    energy: joules(lastEnergy),
    carbon: gramsCo2e(lastCarbon),
    latency: ms(lastLatency),
  }
}

// The last prediction's numbers (written by `predictNumbers`, read right after it; JS runs one
// decision at a time, so module scratch is never shared between two decisions in progress).
let lastOccupancy = 0
let lastEnergy = 0
let lastCarbon = 0
let lastLatency = 0

/**
 * The arithmetic of `predict` without the result object: writes occupancy, energy (J), carbon
 * (gCO2e) and latency (ms) to the module's `last*` scratch. `input` and `output` are the request's
 * token counts already clamped at 0. Calls the profile exactly as `predict` always has (same
 * functions, same order, same batch), so a stateful profile sees the same calls.
 */
function predictNumbers(backend: BackendState, input: number, output: number): void {
  const occupancy = Math.max(1, backend.inflight + 1)
  const profile: EnergyProfile = backend.profile
  const maxBatch = Math.max(1, profile.maxBatch)
  const batch = Math.min(occupancy, maxBatch)
  const stretch = occupancy > maxBatch ? occupancy / maxBatch : 1
  const energy =
    input * profile.energyPerInputToken(batch).value +
    output * profile.energyPerOutputToken(batch).value
  const compute =
    (input * profile.timePerInputToken(batch) + output * profile.timePerOutputToken(batch)) *
    stretch
  lastOccupancy = occupancy
  lastEnergy = energy
  lastLatency = backend.networkRtt + (backend.observedOverhead ?? 0) + compute
  lastCarbon = carbonOf(joules(energy * backend.pue), gramsPerKwh(backend.intensity.intensity))
}

/**
 * Checks the hard constraints in a fixed order: serves the model, not already tried, healthy,
 * below its concurrency limit. The SLO is checked separately (policies differ in how they use it).
 */
export function hardIneligibility(
  backend: BackendState,
  request: RoutingRequest,
): Ineligibility | undefined {
  return INELIGIBILITY[ineligibilityCode(backend, request)]
}

/** `hardIneligibility` as a small code: an index into `INELIGIBILITY` (0 = eligible). */
function ineligibilityCode(backend: BackendState, request: RoutingRequest): number {
  if (!backend.models.includes(request.model)) return MODEL
  if (request.exclude.includes(backend.id)) return EXCLUDED
  if (!backend.healthy) return UNHEALTHY
  if (backend.inflight >= backend.maxConcurrency) return FULL
  return ELIGIBLE
}

/** Ineligibility by code (see `BackendScan.code`). */
export const INELIGIBILITY: readonly (Ineligibility | undefined)[] = Object.freeze([
  undefined,
  'model',
  'excluded',
  'unhealthy',
  'full',
  'slo',
])
/** Codes of `INELIGIBILITY`. */
export const ELIGIBLE = 0
export const MODEL = 1
export const EXCLUDED = 2
export const UNHEALTHY = 3
export const FULL = 4
export const SLO = 5

/**
 * One backend with its prediction and hard eligibility, as an object (the policies themselves read the
 * same figures from a `BackendScan`).
 */
export interface Assessed {
  readonly backend: BackendState
  readonly prediction: Prediction
  readonly ineligible: Ineligibility | undefined
  /** Predicted latency within the request's SLO (true without an SLO). */
  readonly meetsSlo: boolean
}

/** Predicts every backend in snapshot order. */
export function assess(snapshot: RoutingSnapshot, request: RoutingRequest): Assessed[] {
  return snapshot.backends.map((backend) => {
    const prediction = predict(backend, request)
    return {
      backend,
      prediction,
      ineligible: hardIneligibility(backend, request),
      meetsSlo: request.sloP95 === undefined || prediction.latency <= request.sloP95,
    }
  })
}

/**
 * Every backend of a snapshot predicted and checked for one request, in flat typed arrays indexed
 * like `snapshot.backends`: what `assess` computes, without an object per backend. Policies scan once,
 * choose with linear passes over these arrays, and build only the score records a decision carries.
 *
 * The arrays are module scratch, reused by the next scan: read them before deciding again, never
 * keep them in a decision.
 */
export interface BackendScan {
  /** Number of backends scanned (entries beyond it are stale). */
  readonly n: number
  /** Predicted IT energy per backend (J, before PUE). */
  readonly energy: Float64Array
  /** Predicted carbon per backend (gCO2e). */
  readonly carbon: Float64Array
  /** Predicted latency per backend (ms). */
  readonly latency: Float64Array
  /** Hard ineligibility per backend as an `INELIGIBILITY` index (0 = eligible; never `SLO`). */
  readonly code: Uint8Array
  /** 1 when the predicted latency is within the request's SLO (or there is none), else 0. */
  readonly meetsSlo: Uint8Array
  /** Eligible backends. */
  readonly open: number
  /** Eligible backends that meet the SLO. */
  readonly feasible: number
  /** Backends that serve the model (any other eligibility). */
  readonly serving: number
  /** Backends that serve the model but are at their concurrency limit. */
  readonly full: number
}

type MutableScan = { -readonly [K in keyof BackendScan]: BackendScan[K] }

const scan: MutableScan = {
  n: 0,
  energy: new Float64Array(16),
  carbon: new Float64Array(16),
  latency: new Float64Array(16),
  code: new Uint8Array(16),
  meetsSlo: new Uint8Array(16),
  open: 0,
  feasible: 0,
  serving: 0,
  full: 0,
}

/** Predicts and checks every backend of `snapshot` for `request` (see `BackendScan`). */
export function scanBackends(snapshot: RoutingSnapshot, request: RoutingRequest): BackendScan {
  const backends = snapshot.backends
  const n = backends.length
  if (n > scan.energy.length) {
    const size = Math.max(n, 2 * scan.energy.length)
    scan.energy = new Float64Array(size)
    scan.carbon = new Float64Array(size)
    scan.latency = new Float64Array(size)
    scan.code = new Uint8Array(size)
    scan.meetsSlo = new Uint8Array(size)
  }
  const input = Math.max(0, request.inputTokens)
  const output = Math.max(0, request.outputTokens)
  const slo = request.sloP95
  const { energy, carbon, latency, code, meetsSlo } = scan
  let open = 0
  let feasible = 0
  let serving = 0
  let full = 0
  for (let i = 0; i < n; i++) {
    const backend = backends[i] as BackendState
    predictNumbers(backend, input, output)
    energy[i] = lastEnergy
    carbon[i] = lastCarbon
    latency[i] = lastLatency
    const c = ineligibilityCode(backend, request)
    code[i] = c
    const meets = slo === undefined || lastLatency <= slo
    meetsSlo[i] = meets ? 1 : 0
    if (c === ELIGIBLE) {
      open++
      if (meets) feasible++
    }
    if (c !== MODEL) serving++
    if (c === FULL) full++
  }
  scan.n = n
  scan.open = open
  scan.feasible = feasible
  scan.serving = serving
  scan.full = full
  return scan
}

/**
 * The reject reason of a scan in which no backend is eligible: `unknown-model` when none serves the
 * model, `all-full` when one that serves it is at its limit, else `no-backend`.
 */
export function scanRejectReason(s: BackendScan): 'no-backend' | 'all-full' | 'unknown-model' {
  if (s.serving === 0) return 'unknown-model'
  if (s.full > 0) return 'all-full'
  return 'no-backend'
}

/**
 * A policy's decision over scan `s`: route to `chosen`, or, when the policy chose none, reject with
 * the scan's reason ({@link scanRejectReason}).
 */
export function scanDecision(
  s: BackendScan,
  policy: RoutingPolicyName,
  chosen: BackendState | undefined,
  reason: string,
  scores: readonly BackendScore[],
): RoutingDecision {
  if (chosen === undefined) return { kind: 'reject', policy, reason: scanRejectReason(s), scores }
  return { kind: 'route', backend: chosen.id, policy, reason, scores }
}

/**
 * The score record of backend `i` of a scan. `reason` is a code of `INELIGIBILITY`: 0 = eligible
 * (the record then has no `reason` key), else the reason it was not. Keys in a fixed order: backend,
 * eligible, reason, predictedEnergy, predictedCarbon, predictedLatency, score.
 */
export function scanScore(
  s: BackendScan,
  i: number,
  id: string,
  reason: number,
  score: number,
): BackendScore {
  if (reason === ELIGIBLE) {
    return {
      backend: id,
      eligible: true,
      predictedEnergy: joules(s.energy[i] as number),
      predictedCarbon: gramsCo2e(s.carbon[i] as number),
      predictedLatency: ms(s.latency[i] as number),
      score,
    }
  }
  return {
    backend: id,
    eligible: false,
    reason: INELIGIBILITY[reason] as Ineligibility,
    predictedEnergy: joules(s.energy[i] as number),
    predictedCarbon: gramsCo2e(s.carbon[i] as number),
    predictedLatency: ms(s.latency[i] as number),
    score,
  }
}

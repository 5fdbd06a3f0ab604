/**
 * @module routing/reference/predict
 * FROZEN REFERENCE (test-only): a verbatim copy of `routing/predict.ts` as of commit efcb3a5, before the
 * allocation-light rewrite. The differential test `routing/equivalence.test.ts` checks that the live
 * policies decide exactly as this copy does. Do not edit or optimise it.
 * What a backend would cost and how long it would take if it took one more request now. Every policy
 * scores backends from these predictions, so live routing and replays agree on them.
 *
 * Occupancy: the request joins the backend's running batch, so it is predicted at `inflight + 1`
 * (requests already routed but not finished count, which is what keeps a burst of decisions made
 * against the same snapshot from herding onto one backend). Beyond the profile's largest batch the
 * engine queues internally: compute time stretches by `occupancy / maxBatch`.
 */
import type { EnergyProfile } from '../../energy/profile.ts'
import {
  carbonOf,
  gramsPerKwh,
  joules,
  ms,
  type GramsCo2e,
  type Joules,
  type Milliseconds,
} from '../../units/quantity.ts'
import type { BackendScore, BackendState, RoutingRequest, RoutingSnapshot } from '../policy.ts'

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
  const occupancy = Math.max(1, backend.inflight + 1)
  const profile: EnergyProfile = backend.profile
  const maxBatch = Math.max(1, profile.maxBatch)
  const batch = Math.min(occupancy, maxBatch)
  const stretch = occupancy > maxBatch ? occupancy / maxBatch : 1
  const input = Math.max(0, request.inputTokens)
  const output = Math.max(0, request.outputTokens)
  const energy = joules(
    input * profile.energyPerInputToken(batch).value +
      output * profile.energyPerOutputToken(batch).value,
  )
  const compute =
    (input * profile.timePerInputToken(batch) + output * profile.timePerOutputToken(batch)) *
    stretch
  const latency = ms(backend.networkRtt + (backend.observedOverhead ?? 0) + compute)
  const carbon = carbonOf(joules(energy * backend.pue), gramsPerKwh(backend.intensity.intensity))
  return { occupancy, energy, carbon, latency }
}

/**
 * Checks the hard constraints in a fixed order: serves the model, not already tried, healthy,
 * below its concurrency limit. The SLO is checked separately (policies differ in how they use it).
 */
export function hardIneligibility(
  backend: BackendState,
  request: RoutingRequest,
): Ineligibility | undefined {
  if (!backend.models.includes(request.model)) return 'model'
  if (request.exclude.includes(backend.id)) return 'excluded'
  if (!backend.healthy) return 'unhealthy'
  if (backend.inflight >= backend.maxConcurrency) return 'full'
  return undefined
}

/** One backend with its prediction and hard eligibility, as every policy sees it. */
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

/** The score record of one assessed backend. `reason` overrides the hard ineligibility. */
export function scoreOf(a: Assessed, score: number, reason?: Ineligibility): BackendScore {
  const why = reason ?? a.ineligible
  return {
    backend: a.backend.id,
    eligible: why === undefined,
    ...(why === undefined ? {} : { reason: why }),
    predictedEnergy: a.prediction.energy,
    predictedCarbon: a.prediction.carbon,
    predictedLatency: a.prediction.latency,
    score,
  }
}

/** The reject reason when no backend is eligible. */
export function rejectReason(
  assessed: readonly Assessed[],
): 'no-backend' | 'all-full' | 'unknown-model' {
  const serving = assessed.filter((a) => a.ineligible !== 'model')
  if (serving.length === 0) return 'unknown-model'
  if (serving.some((a) => a.ineligible === 'full')) return 'all-full'
  return 'no-backend'
}

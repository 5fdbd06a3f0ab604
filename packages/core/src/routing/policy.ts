/**
 * @module routing/policy
 * The vocabulary shared by every routing policy. A policy is a pure function of a read-only snapshot
 * and a request; the live gateway and the replay simulator build snapshots the same way and call the
 * same functions. Anything stateful (a round-robin cursor, a random draw) arrives in the input.
 */
import type { IntensityPoint } from '../carbon/intensity.ts'
import type { EnergyProfile } from '../energy/profile.ts'
import type { GramsCo2e, Instant, Joules, Milliseconds } from '../units/quantity.ts'

export const ROUTING_POLICIES = [
  'carbon-aware',
  'round-robin',
  'least-loaded',
  'latency-first',
  'weighted',
] as const
export type RoutingPolicyName = (typeof ROUTING_POLICIES)[number]

/** What a policy knows about one backend at decision time. */
export interface BackendState {
  readonly id: string
  readonly zone: string
  readonly models: readonly string[]
  readonly healthy: boolean
  readonly inflight: number
  readonly maxConcurrency: number
  readonly weight: number
  readonly pue: number
  readonly profile: EnergyProfile
  readonly intensity: IntensityPoint
  /** Network round trip from the client side to this backend (0 when unknown or local). */
  readonly networkRtt: Milliseconds
  /** Recent measured time to first byte / overhead, smoothed; undefined before any measurement. */
  readonly observedOverhead?: Milliseconds
}

export interface RoutingSnapshot {
  readonly now: Instant
  readonly backends: readonly BackendState[]
}

export interface RoutingRequest {
  readonly model: string
  /** Prompt tokens (estimated from the body before the upstream counts them). */
  readonly inputTokens: number
  /** Expected output tokens (max_tokens, or a per-service typical value). */
  readonly outputTokens: number
  /** The service's latency objective for the whole request; undefined = no SLO. */
  readonly sloP95?: Milliseconds
  /** Backends already tried for this request (retries go elsewhere). */
  readonly exclude: readonly string[]
  /** A monotonically increasing sequence number (round-robin cursor). */
  readonly sequence: number
  /** A uniform draw in [0, 1) for weighted choices. */
  readonly draw: number
  /**
   * The backend the previous decision for this service and model chose, if any. Carbon-aware keeps
   * it while it stays within a small tolerance of the best score (hysteresis: no flapping).
   */
  readonly sticky?: string
}

/** Why a backend was or was not chosen. */
export interface BackendScore {
  readonly backend: string
  readonly eligible: boolean
  /** Why it was ineligible: `unhealthy`, `full`, `model`, `excluded`, `slo`. */
  readonly reason?: string
  readonly predictedEnergy: Joules
  readonly predictedCarbon: GramsCo2e
  readonly predictedLatency: Milliseconds
  /**
   * The policy's ranking key: carbon-aware gCO2e (lower wins), latency-first ms (lower wins),
   * least-loaded utilisation 0..1 (lower wins), round-robin turn offset (0 = chosen, NaN = not in
   * the rotation), weighted selection probability.
   */
  readonly score: number
}

export type RoutingDecision =
  | {
      readonly kind: 'route'
      readonly backend: string
      readonly policy: RoutingPolicyName
      readonly reason: string
      readonly scores: readonly BackendScore[]
    }
  | {
      readonly kind: 'reject'
      readonly policy: RoutingPolicyName
      readonly reason: 'no-backend' | 'all-full' | 'unknown-model'
      readonly scores: readonly BackendScore[]
    }

export type RoutingPolicy = (snapshot: RoutingSnapshot, request: RoutingRequest) => RoutingDecision

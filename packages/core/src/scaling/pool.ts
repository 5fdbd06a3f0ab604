/**
 * @module scaling/pool
 * A pool of identical model-server replicas (one Kubernetes Deployment of vLLM, say) as right-sizing
 * sees it: its energy profile, how many requests one replica batches, its replica range, and what
 * starting a replica costs. Every figure the scaler derives from it is modelled from the profile.
 */
import type { EnergyProfile } from '../energy/profile.ts'

export interface ScalingPool {
  readonly id: string
  /** Grid zone of the pool (for carbon). */
  readonly zone: string
  /** Energy/latency behaviour of one replica vs its running batch. */
  readonly profile: EnergyProfile
  /** Requests one replica runs at once (its continuous-batching limit). */
  readonly slotsPerReplica: number
  /** Fewest replicas kept; 0 allows scale-to-zero. */
  readonly minReplicas: number
  readonly maxReplicas: number
  /** Time from start to serving (model load, warm-up), ms. */
  readonly coldStartMs: number
  /** Power one replica draws while it starts, W (modelled: the replica's idle power by default). */
  readonly coldStartPowerW: number
  /** Facility overhead (energy × PUE). */
  readonly pue: number
}

/** The request mix the scaler plans for: token counts at the mean and at the 95th percentile. */
export interface RequestMix {
  readonly meanInputTokens: number
  readonly meanOutputTokens: number
  /** The (input, output) pair whose latency stands for the p95 request. */
  readonly p95InputTokens: number
  readonly p95OutputTokens: number
}

/** Default cold start: model load and warm-up of a vLLM replica, ms (docs/scaling.md: assumption, configurable). */
export const DEFAULT_COLD_START_MS = 60_000

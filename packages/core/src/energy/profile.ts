/**
 * @module energy/profile
 * The vocabulary of energy profiles: how a (model, hardware, precision) triple spends energy and time
 * per token as a function of batch size. Profiles are fitted to measured data (ML.ENERGY) or, for
 * unmeasured combinations, estimated from parameters with a wider interval. Either way the figures
 * they produce are `modelled`; only a power meter produces `measured` figures.
 */
import type { Estimate } from '../units/estimate.ts'
import type { Joules, Milliseconds, Watts } from '../units/quantity.ts'

export const PRECISIONS = ['bf16', 'fp16', 'fp8', 'int8', 'int4', 'fp32'] as const
export type Precision = (typeof PRECISIONS)[number]

/** How a profile was obtained. */
export const PROFILE_BASES = ['fitted', 'parametric'] as const
export type ProfileBasis = (typeof PROFILE_BASES)[number]

export interface EnergyProfile {
  /** Canonical model id (Hugging Face id where one exists). */
  readonly model: string
  /** Hardware catalogue id, e.g. `H100-SXM`. */
  readonly hardware: string
  readonly precision: Precision
  readonly basis: ProfileBasis
  /** Citation of the data and fit, e.g. `ML.ENERGY benchmark v3 (fit: scripts/fit-profiles.ts)`. */
  readonly source: string
  /** Accelerators one replica of the model uses. */
  readonly gpus: number
  /** Largest batch the fit covers; callers clamp to it. */
  readonly maxBatch: number
  /** Energy per generated token at a running batch size (J/token, whole replica, IT power, no PUE). */
  energyPerOutputToken(batch: number): Estimate<Joules>
  /** Energy per prompt token during prefill (J/token). */
  energyPerInputToken(batch: number): Estimate<Joules>
  /** Inter-token latency at a running batch size. */
  timePerOutputToken(batch: number): Milliseconds
  /** Prefill time per prompt token. */
  timePerInputToken(batch: number): Milliseconds
  /** Power drawn by the replica's accelerators at a batch occupancy (W). batch = 0 gives idle power. */
  power(batch: number): Watts
  readonly idlePower: Watts
}

/** The work of one request, as counted by the upstream's `usage`. */
export interface RequestWork {
  readonly inputTokens: number
  readonly outputTokens: number
}

/**
 * @module energy/parametric
 * The estimator for configurations with no measurement, and the request-mix term every profile
 * shares: a log-linear regression on physically derived features, fitted on the ML.ENERGY
 * configurations of the training split.
 *
 * ln E = θ · [1, ln E_w, ln(1 + b·ρ), ln b, ln L_out, ln(T/N), ln g]
 * ln t = φ · [1, ln t_w, ln(1 + b·ρ), ln b, ln L_out, ln(T/N), ln g]
 *
 * - E_w = TDP · W / BW: energy (J) of the replica's devices streaming all weights once at full power
 *   (W = T·B bytes of weights, T total parameters, B bytes per parameter; TDP W, BW B/s of one device:
 *   g devices each stream W/g at g·TDP, so g cancels). Decoding is memory-bound at small batch, so
 *   energy per token ≈ E_w / b there.
 * - t_w = W / (g · BW): time (ms) to stream the weights once across the replica.
 * - ρ = (2·N FLOP / (g·peak)) / t_w: compute time of one sequence's token over the weight-stream
 *   time; b·ρ > 1 means the step is compute-bound (peak of the precision: 16-bit peak × 2/B).
 * - L_out: mean output tokens per request of the request mix. Per output token the prompt's prefill
 *   is amortised over the output, and the KV cache grows with it, so the mix moves energy per token.
 * - b running batch, N active parameters, g GPUs of the replica.
 * y is energy per output token (J) or time per output token (ms). The interval half-width is the
 * leave-one-task-out residual quantile (a task's request mix never seen); each feature outside its
 * training range widens it (see {@link parametricIntervalLog}).
 */
import type { HardwareSpec } from '../catalog/hardware.ts'
import { peakFlops } from './prefill.ts'
import type { ParametricCoefficients } from './profile-table.ts'
import type { Precision } from './profile.ts'

export const PARAMETRIC_FEATURES = [
  'const',
  'ln(weight_pass_energy_j)',
  'ln(1+batch*compute_over_memory)',
  'ln(batch)',
  'ln(output_tokens)',
  'ln(total/active)',
  'ln(gpus)',
] as const

export const PARAMETRIC_TPOT_FEATURES = [
  'const',
  'ln(weight_stream_ms)',
  'ln(1+batch*compute_over_memory)',
  'ln(batch)',
  'ln(output_tokens)',
  'ln(total/active)',
  'ln(gpus)',
] as const

/** Index of ln(output tokens) in both feature vectors: the request-mix term. */
export const OUTPUT_TOKENS_FEATURE = 4

/** Bytes per weight of each precision. */
export const BYTES_PER_PARAM: Readonly<Record<Precision, number>> = Object.freeze({
  fp32: 4,
  bf16: 2,
  fp16: 2,
  fp8: 1,
  int8: 1,
  int4: 0.5,
})

export interface ParametricInput {
  readonly activeParamsB: number
  readonly totalParamsB: number
  readonly precision: Precision
  readonly hardware: HardwareSpec
  readonly gpus: number
  readonly batch: number
  /** Mean output tokens per request of the request mix. */
  readonly outputTokens: number
}

interface Physics {
  readonly weightPassEnergyJ: number
  readonly weightStreamMs: number
  readonly computeOverMemory: number
}

function physics(input: ParametricInput): Physics {
  const bytes = BYTES_PER_PARAM[input.precision]
  const weightBytes = input.totalParamsB * 1e9 * bytes
  const bandwidth = input.hardware.memoryBandwidthGBs * 1e9
  const streamS = weightBytes / (input.gpus * bandwidth)
  const peak = peakFlops(input.hardware) * (2 / bytes) * input.gpus
  const computeS = (2 * input.activeParamsB * 1e9) / peak
  return {
    weightPassEnergyJ: (input.hardware.tdpW * weightBytes) / bandwidth,
    weightStreamMs: streamS * 1000,
    computeOverMemory: computeS / streamS,
  }
}

function shared(input: ParametricInput, ph: Physics): number[] {
  const b = Math.max(1, input.batch)
  return [
    Math.log(1 + b * ph.computeOverMemory),
    Math.log(b),
    Math.log(Math.max(1, input.outputTokens)),
    Math.log(Math.max(1, input.totalParamsB / input.activeParamsB)),
    Math.log(input.gpus),
  ]
}

/** The energy feature vector of {@link PARAMETRIC_FEATURES} for one configuration at one batch. */
export function parametricFeatures(input: ParametricInput): number[] {
  const ph = physics(input)
  return [1, Math.log(ph.weightPassEnergyJ), ...shared(input, ph)]
}

/** The latency feature vector of {@link PARAMETRIC_TPOT_FEATURES}. */
export function parametricTpotFeatures(input: ParametricInput): number[] {
  const ph = physics(input)
  return [1, Math.log(ph.weightStreamMs), ...shared(input, ph)]
}

/** θ · x. */
export function dot(theta: readonly number[], x: readonly number[]): number {
  let s = 0
  for (let i = 0; i < x.length; i++) s += (theta[i] ?? 0) * (x[i] ?? 0)
  return s
}

/** ln(energy per output token, J) for an energy feature vector. */
export function parametricLogEnergy(
  coefficients: ParametricCoefficients,
  x: readonly number[],
): number {
  return dot(coefficients.energy, x)
}

/**
 * ln factor by which energy per output token moves when the mean output length of the request mix
 * goes from `fromTokens` to `toTokens` (the regression's request-mix coefficient). Used to carry a
 * measured profile to another request mix.
 */
export function outputMixLogShift(
  coefficients: ParametricCoefficients,
  fromTokens: number,
  toTokens: number,
): number {
  const theta = coefficients.energy[OUTPUT_TOKENS_FEATURE] ?? 0
  return theta * (Math.log(Math.max(1, toTokens)) - Math.log(Math.max(1, fromTokens)))
}

/** Same for time per output token. */
export function outputMixLogShiftTpot(
  coefficients: ParametricCoefficients,
  fromTokens: number,
  toTokens: number,
): number {
  const theta = coefficients.tpot[OUTPUT_TOKENS_FEATURE] ?? 0
  return theta * (Math.log(Math.max(1, toTokens)) - Math.log(Math.max(1, fromTokens)))
}

/**
 * ln half-width of the parametric interval for a feature vector: the calibrated width, plus 0.5 for
 * each configuration feature (weight-pass energy, output length, MoE ratio, GPUs) outside its
 * training range by more than 10 % of the range, in ln units of the excess. Hardware unlike anything
 * measured (a CPU server) thus gets a much wider interval.
 */
export function parametricIntervalLog(
  coefficients: ParametricCoefficients,
  x: readonly number[],
): number {
  let w = coefficients.energyIntervalLog
  const checked = [1, OUTPUT_TOKENS_FEATURE, 5, 6]
  for (const i of checked) {
    const range = coefficients.featureRanges[i]
    const v = x[i]
    if (range === undefined || v === undefined) continue
    const span = Math.max(0.1, range[1] - range[0]) * 0.1
    const excess = Math.max(0, range[0] - span - v, v - range[1] - span)
    w += 0.5 * excess
  }
  return w
}

/**
 * GPUs one replica needs to hold the weights plus 25 % for KV cache and activations, rounded up
 * to a power of two (tensor-parallel degrees); CPU servers count as 1.
 */
export function replicaGpus(hw: HardwareSpec, totalParamsB: number, precision: Precision): number {
  if (hw.kind === 'cpu') return 1
  const needGb = totalParamsB * BYTES_PER_PARAM[precision] * 1.25
  let g = 1
  while (g * hw.memoryGb < needGb && g < 64) g *= 2
  return g
}

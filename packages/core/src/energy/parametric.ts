/**
 * @module energy/parametric
 * The estimator for configurations with no measurement, and the request-mix terms every profile
 * shares: a log-linear regression on physically derived features, fitted on the ML.ENERGY
 * configurations of the training split.
 *
 * ln E = θ · [1, ln E_w, ln(1 + b·ρ), ln b, ln L_out, ln(T/N), ln g, (ln b)², ln L_out · ln b]
 * ln t = φ · [1, ln t_w, ln(1 + b·ρ), ln b, ln L_out, ln(T/N), ln g, (ln b)², ln L_out · ln b]
 *
 * - E_w = TDP · W / BW: energy (J) of the replica's devices streaming all weights once at full power
 *   (W = T·B bytes of weights, T total parameters, B bytes per parameter; TDP W, BW B/s of one device:
 *   g devices each stream W/g at g·TDP, so g cancels). Decoding is memory-bound at small batch, so
 *   energy per token ≈ E_w / b there.
 * - t_w = W / (g · BW): time (ms) to stream the weights once across the replica.
 * - ρ = (2·N FLOP / (g·peak)) / t_w: compute time of one sequence's token over the weight-stream
 *   time; b·ρ > 1 means the step is compute-bound (peak of the precision: 16-bit peak × 2/B).
 * - (ln b)²: the curvature of the batch curve — per-token energy falls almost as 1/b while the
 *   step is memory-bound and flattens as power approaches TDP and per-sequence work (attention over
 *   the KV cache, compute) takes over.
 * - L_out: mean output tokens per request of the request mix. Per output token a request's prefill
 *   is amortised over its output (energy per token = decode energy at batch b + prefill energy /
 *   L_out), so short outputs cost more per token.
 * - ln L_out · ln b: the request-mix interaction. The prefill share of a token's energy grows with
 *   batch, because decode energy per token falls with b while prefill energy per request does not
 *   (it is compute-bound already at batch 1), so the output-length effect is stronger at large
 *   batch. Fitted on the measured mixes (chat ≈ 350–1,400 output tokens, code ≈ 60–250).
 * - b running batch (the measured mean, not the configured maximum), N active parameters,
 *   g GPUs of the replica.
 * y is energy per output token (J) or time per output token (ms). The regression weighs each
 * measured configuration alike (least absolute deviations, weights 1 / rows of the configuration),
 * so a configuration measured at twelve batch sizes does not outvote one measured at three. The
 * interval half-width is a split-conformal quantile of held-out residuals (leave one task — one
 * request mix — out, and leave one configuration out), computed apart for configurations whose
 * hardware × precision the fit saw often and for those it saw rarely (Mondrian conformal); each
 * feature outside its training range widens it further (see {@link parametricIntervalLog}).
 *
 * {@link BASELINE_FEATURES} is the previous feature set (no curvature, no interaction, unweighted,
 * one interval): `npm run bench:estimate` fits it side by side as the baseline.
 */
import type { HardwareSpec } from '../catalog/hardware.ts'
import { peakFlops } from './prefill.ts'
import type { ParametricCoefficients } from './profile-table.ts'
import type { Precision } from './profile.ts'

/** The features both current estimators share after their weight term (energy or time). */
const LOAD_AND_MIX_FEATURES = [
  'ln(1+batch*compute_over_memory)',
  'ln(batch)',
  'ln(output_tokens)',
  'ln(total/active)',
  'ln(gpus)',
  'ln(batch)^2',
  'ln(output_tokens)*ln(batch)',
] as const

export const FEATURE_NAMES = [
  'const',
  'ln(weight_pass_energy_j)',
  'ln(weight_stream_ms)',
  ...LOAD_AND_MIX_FEATURES,
] as const
export type FeatureName = (typeof FEATURE_NAMES)[number]

/** Energy features of the request-mix estimator (current). */
export const PARAMETRIC_FEATURES = [
  'const',
  'ln(weight_pass_energy_j)',
  ...LOAD_AND_MIX_FEATURES,
] as const satisfies readonly FeatureName[]

/** Latency features of the request-mix estimator (current). */
export const PARAMETRIC_TPOT_FEATURES = [
  'const',
  'ln(weight_stream_ms)',
  ...LOAD_AND_MIX_FEATURES,
] as const satisfies readonly FeatureName[]

/** Energy features of the previous estimator (the baseline of `npm run bench:estimate`). */
export const BASELINE_FEATURES = PARAMETRIC_FEATURES.slice(0, 7) as readonly FeatureName[]
/** Latency features of the previous estimator. */
export const BASELINE_TPOT_FEATURES = PARAMETRIC_TPOT_FEATURES.slice(0, 7) as readonly FeatureName[]

/** Index of ln(output tokens) in both current feature vectors: the main request-mix term. */
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

function featureValue(name: string, input: ParametricInput, ph: Physics): number {
  const lnB = Math.log(Math.max(1, input.batch))
  const lnL = Math.log(Math.max(1, input.outputTokens))
  switch (name) {
    case 'const':
      return 1
    case 'ln(weight_pass_energy_j)':
      return Math.log(ph.weightPassEnergyJ)
    case 'ln(weight_stream_ms)':
      return Math.log(ph.weightStreamMs)
    case 'ln(1+batch*compute_over_memory)':
      return Math.log(1 + Math.max(1, input.batch) * ph.computeOverMemory)
    case 'ln(batch)':
      return lnB
    case 'ln(output_tokens)':
      return lnL
    case 'ln(total/active)':
      return Math.log(Math.max(1, input.totalParamsB / input.activeParamsB))
    case 'ln(gpus)':
      return Math.log(input.gpus)
    case 'ln(batch)^2':
      return lnB * lnB
    case 'ln(output_tokens)*ln(batch)':
      return lnL * lnB
    default:
      throw new RangeError(`unknown parametric feature "${name}"`)
  }
}

/**
 * The energy feature vector for one configuration at one batch, in the order of `names`
 * (default {@link PARAMETRIC_FEATURES}; a table stores the names it was fitted with).
 */
export function parametricFeatures(
  input: ParametricInput,
  names: readonly string[] = PARAMETRIC_FEATURES,
): number[] {
  const ph = physics(input)
  return names.map((n) => featureValue(n, input, ph))
}

/** The latency feature vector (default {@link PARAMETRIC_TPOT_FEATURES}). */
export function parametricTpotFeatures(
  input: ParametricInput,
  names: readonly string[] = PARAMETRIC_TPOT_FEATURES,
): number[] {
  return parametricFeatures(input, names)
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
 * ln factor by which a quantity moves when the mean output length of the request mix goes from
 * `fromTokens` to `toTokens` at running batch `batch`: θ_L·Δln L + θ_Lb·Δln L·ln b over the
 * features named `names` (the regression's request-mix terms). Used to carry a measured profile to
 * another request mix.
 */
function mixLogShift(
  theta: readonly number[],
  names: readonly string[],
  fromTokens: number,
  toTokens: number,
  batch: number,
): number {
  const dL = Math.log(Math.max(1, toTokens)) - Math.log(Math.max(1, fromTokens))
  const lnB = Math.log(Math.max(1, batch))
  let s = 0
  names.forEach((n, i) => {
    if (n === 'ln(output_tokens)') s += (theta[i] ?? 0) * dL
    else if (n === 'ln(output_tokens)*ln(batch)') s += (theta[i] ?? 0) * dL * lnB
  })
  return s
}

/** ln shift of energy per output token between two request mixes at batch `batch`. */
export function outputMixLogShift(
  coefficients: ParametricCoefficients,
  fromTokens: number,
  toTokens: number,
  batch = 1,
): number {
  return mixLogShift(coefficients.energy, coefficients.features, fromTokens, toTokens, batch)
}

/** Same for time per output token. */
export function outputMixLogShiftTpot(
  coefficients: ParametricCoefficients,
  fromTokens: number,
  toTokens: number,
  batch = 1,
): number {
  return mixLogShift(coefficients.tpot, coefficients.tpotFeatures, fromTokens, toTokens, batch)
}

/** Key of a hardware × precision cell in {@link ParametricCoefficients.support}. */
export function supportKey(hardwareId: string, precision: Precision): string {
  return `${hardwareId}|${precision}`
}

/**
 * True when the fit saw fewer than `thinSupport` configurations of this hardware in this precision
 * (the rarely-seen stratum of the Mondrian interval). Tables without support counts: false.
 */
export function isThinSupport(
  coefficients: ParametricCoefficients,
  hardwareId: string,
  precision: Precision,
): boolean {
  if (coefficients.support === undefined || coefficients.thinSupport === undefined) return false
  return (coefficients.support[supportKey(hardwareId, precision)] ?? 0) < coefficients.thinSupport
}

/**
 * ln half-width of the parametric interval for an energy feature vector: the calibrated width
 * (the rarely-seen stratum's when `thin`), plus 0.5 for each configuration feature (weight-pass
 * energy, output length, MoE ratio, GPUs) outside its training range by more than 10 % of the
 * range, in ln units of the excess. Hardware unlike anything measured (a CPU server) thus gets a
 * much wider interval.
 */
export function parametricIntervalLog(
  coefficients: ParametricCoefficients,
  x: readonly number[],
  thin = false,
): number {
  let w =
    thin && coefficients.energyThinIntervalLog !== undefined
      ? Math.max(coefficients.energyIntervalLog, coefficients.energyThinIntervalLog)
      : coefficients.energyIntervalLog
  const checked = new Set([
    'ln(weight_pass_energy_j)',
    'ln(output_tokens)',
    'ln(total/active)',
    'ln(gpus)',
  ])
  coefficients.features.forEach((name, i) => {
    if (!checked.has(name)) return
    const range = coefficients.featureRanges[i]
    const v = x[i]
    if (range === undefined || v === undefined) return
    const span = Math.max(0.1, range[1] - range[0]) * 0.1
    const excess = Math.max(0, range[0] - span - v, v - range[1] - span)
    w += 0.5 * excess
  })
  return w
}

/**
 * GPUs one replica needs to hold the weights plus 25 % for KV cache and activations, rounded up
 * to a power of two (tensor-parallel degrees); CPU servers and edge modules count as 1.
 */
export function replicaGpus(hw: HardwareSpec, totalParamsB: number, precision: Precision): number {
  if (hw.kind !== 'gpu') return 1
  const needGb = totalParamsB * BYTES_PER_PARAM[precision] * 1.25
  let g = 1
  while (g * hw.memoryGb < needGb && g < 64) g *= 2
  return g
}

/**
 * @module energy/parametric
 * The estimator for (model, hardware, precision) triples with no measurement: a log-linear
 * regression fitted on the ML.ENERGY configurations of the training split.
 *
 * ln y = θ · [1, ln(N·B), ln b, (ln b)², ln(T/N), ln(TDP/BW), ln g, ln(N·B)·ln b, ln(T/N)·ln b]
 *
 * N active parameters (billions), B bytes per parameter of the precision, T total parameters,
 * b running batch, TDP (W) and BW (GB/s) of one device (TDP/BW is the device's energy per byte
 * streamed at full power), g GPUs of the replica. y is energy per output token (J) or time per
 * output token (ms). The interval half-width is the leave-one-configuration-out residual quantile;
 * each feature outside its training range widens it (see {@link parametricIntervalLog}).
 */
import type { HardwareSpec } from '../catalog/hardware.ts'
import type { ParametricCoefficients } from './profile-table.ts'
import type { Precision } from './profile.ts'

export const PARAMETRIC_FEATURES = [
  'const',
  'ln(active_params_b*bytes)',
  'ln(batch)',
  'ln(batch)^2',
  'ln(total/active)',
  'ln(tdp_w/bandwidth_gbs)',
  'ln(gpus)',
  'ln(active_params_b*bytes)*ln(batch)',
  'ln(total/active)*ln(batch)',
] as const

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
}

/** The feature vector of {@link PARAMETRIC_FEATURES} for one configuration at one batch. */
export function parametricFeatures(input: ParametricInput): number[] {
  const size = Math.log(input.activeParamsB * BYTES_PER_PARAM[input.precision])
  const lb = Math.log(Math.max(1, input.batch))
  const moe = Math.log(Math.max(1, input.totalParamsB / input.activeParamsB))
  return [
    1,
    size,
    lb,
    lb * lb,
    moe,
    Math.log(input.hardware.tdpW / input.hardware.memoryBandwidthGBs),
    Math.log(input.gpus),
    size * lb,
    moe * lb,
  ]
}

/** θ · x. */
export function dot(theta: readonly number[], x: readonly number[]): number {
  let s = 0
  for (let i = 0; i < x.length; i++) s += (theta[i] ?? 0) * (x[i] ?? 0)
  return s
}

/**
 * ln(energy per output token, J) for a feature vector. Outside the measured hardware range the
 * hardware feature is clamped to the range and the result scaled by the remaining ratio of
 * TDP/bandwidth (energy per byte streamed, the memory-bound physics of decoding): the measured
 * GPUs alone cannot say how energy scales to, say, a CPU server.
 */
export function parametricLogEnergy(
  coefficients: ParametricCoefficients,
  x: readonly number[],
): number {
  const hwIndex = 5
  const range = coefficients.featureRanges[hwIndex]
  const v = x[hwIndex]
  if (range === undefined || v === undefined) return dot(coefficients.energy, x)
  const clamped = Math.min(range[1], Math.max(range[0], v))
  const inRange = x.map((f, i) => (i === hwIndex ? clamped : f))
  return dot(coefficients.energy, inRange) + (v - clamped)
}

/**
 * ln half-width of the parametric interval for a feature vector: the calibrated width, plus 0.5 for
 * each feature (other than batch terms) outside its training range by more than 10 %, in ln units
 * of the excess. Hardware unlike anything measured (a CPU server) thus gets a much wider interval.
 */
export function parametricIntervalLog(
  coefficients: ParametricCoefficients,
  x: readonly number[],
): number {
  let w = coefficients.energyIntervalLog
  const checked = [1, 4, 5, 6]
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

/**
 * @module energy/edge-profile
 * Energy profiles of edge modules (Jetson class): one request at a time (no batching), the
 * module's own power, no PUE. Built from a published measurement of decode and prefill rates at
 * batch 1 where one exists (see {@link EDGE_MEASUREMENTS}); otherwise `resolveProfile` extrapolates
 * with the parametric estimator held to batch 1.
 *
 * Power: the source of the rates does not report the power drawn while decoding, and no
 * measurement of module power under an LLM server was found that we could cite. The central power
 * is therefore the module's maximum power (its datasheet power-mode budget, MAXN), an upper bound
 * that does not overstate what moving to the edge saves; the interval runs from half of it to all
 * of it (an assumption, stated on every figure). Energy per token = power ÷ measured rate.
 */
import { getHardware, type HardwareSpec } from '../catalog/hardware.ts'
import type { ModelSpec } from '../catalog/models.ts'
import { WattlineError } from '../errors.ts'
import { estimate, type Estimate } from '../units/estimate.ts'
import { joules, ms, watts, type Joules, type Milliseconds, type Watts } from '../units/quantity.ts'
import type { EnergyProfile, Precision } from './profile.ts'

/** One published batch-1 measurement of a model on an edge module. */
export interface EdgeMeasurement {
  /** Catalogue model id. */
  readonly model: string
  /** Hardware catalogue id (an edge module). */
  readonly hardware: string
  readonly precision: Precision
  /** Measured decode rate at batch 1, output tokens/s. */
  readonly decodeTokensPerS: number
  /** Measured prefill rate at batch 1, prompt tokens/s. */
  readonly prefillTokensPerS: number
  /** Where the rates come from. */
  readonly source: string
}

const TRT_EDGE_LLM =
  'NVIDIA TensorRT Edge-LLM v0.9.0 performance benchmarks (nvidia.github.io/TensorRT-Edge-LLM, user_guide/performance/performance-benchmarks), Vanilla decoding, INT4 AWQ, batch 1'

/** Precisions Orin-class (Ampere) modules run; no FP8 tensor cores. */
export const EDGE_PRECISIONS: readonly Precision[] = Object.freeze(['int4', 'int8', 'fp16', 'bf16'])

/** Published measurements (rates only; power: see the module comment). */
export const EDGE_MEASUREMENTS: readonly EdgeMeasurement[] = Object.freeze(
  [
    [
      'Qwen/Qwen3-8B',
      'Jetson-AGX-Orin-64GB',
      32.5,
      931.2,
      'Jetson AGX Orin (64GB) table, Qwen3-8B',
    ],
    [
      'Qwen/Qwen3-4B-Instruct-2507',
      'Jetson-AGX-Orin-64GB',
      53.1,
      1342.4,
      'Jetson AGX Orin (64GB) table, Qwen3-4B-Instruct-2507',
    ],
    ['Qwen/Qwen3-8B', 'Jetson-Orin-NX-16GB', 19.0, 481.2, 'Jetson Orin NX (16GB) table, Qwen3-8B'],
    [
      'Qwen/Qwen3-4B-Instruct-2507',
      'Jetson-Orin-NX-16GB',
      31.6,
      763.8,
      'Jetson Orin NX (16GB) table, Qwen3-4B-Instruct-2507',
    ],
  ].map(([model, hardware, decode, prefill, where]) =>
    Object.freeze({
      model: model as string,
      hardware: hardware as string,
      precision: 'int4' as const,
      decodeTokensPerS: decode as number,
      prefillTokensPerS: prefill as number,
      source: `${TRT_EDGE_LLM}: ${where as string}`,
    }),
  ),
)

/** Share of the module's maximum power taken as the low end of the power interval (assumption). */
export const EDGE_POWER_LOW_SHARE = 0.5

/** The measurement for a model (or its quantised family) on an edge module in a precision. */
export function findEdgeMeasurement(
  spec: ModelSpec,
  hw: HardwareSpec,
  precision: Precision,
): EdgeMeasurement | undefined {
  return EDGE_MEASUREMENTS.find(
    (m) =>
      m.hardware === hw.id &&
      m.precision === precision &&
      (m.model === spec.id || m.model === spec.baseModel),
  )
}

/** Throws `WL_INVALID_INPUT` listing the supported precisions when an edge module cannot run one. */
export function checkEdgePrecision(hw: HardwareSpec, precision: Precision): void {
  if (!EDGE_PRECISIONS.includes(precision)) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${hw.id} cannot run ${precision} (edge modules run ${EDGE_PRECISIONS.join(', ')})`,
      { details: { field: 'precision', hardware: hw.id, allowed: EDGE_PRECISIONS } },
    )
  }
}

/** The profile of a measured edge configuration: batch 1, module power, no PUE. */
export function edgeProfile(
  m: EdgeMeasurement,
  hw: HardwareSpec = getHardware(m.hardware),
): EnergyProfile {
  const pHigh = hw.tdpW
  const pLow = hw.tdpW * EDGE_POWER_LOW_SHARE
  const source = `edge: decode ${m.decodeTokensPerS} tok/s and prefill ${m.prefillTokensPerS} tok/s measured (${m.source}); power not measured there: ${hw.id} maximum module power ${pHigh} W (datasheet), interval ${pLow}–${pHigh} W (assumption); batch 1, no PUE`
  const perToken = (rate: number): Estimate<Joules> =>
    estimate(joules(pHigh / rate), 'modelled', source, joules(pLow / rate), joules(pHigh / rate))
  const out = perToken(m.decodeTokensPerS)
  const inp = perToken(m.prefillTokensPerS)
  const idle = watts(hw.idleW)
  const profile: EnergyProfile = {
    model: m.model,
    hardware: hw.id,
    precision: m.precision,
    basis: 'fitted',
    source,
    gpus: 1,
    maxBatch: 1,
    idlePower: idle,
    energyPerOutputToken: (): Estimate<Joules> => out,
    energyPerInputToken: (): Estimate<Joules> => inp,
    timePerOutputToken: (): Milliseconds => ms(1000 / m.decodeTokensPerS),
    timePerInputToken: (): Milliseconds => ms(1000 / m.prefillTokensPerS),
    power: (batch: number): Watts => (batch > 0 ? watts(pHigh) : idle),
  }
  return Object.freeze(profile)
}

/**
 * @module energy/prefill
 * Prefill (prompt processing) is compute-bound: about 2·N FLOP per prompt token for N active
 * parameters. With the replica's GPUs at a model FLOP utilisation (MFU) and drawing a share of
 * TDP, energy per prompt token = 2·N·P / (peak · MFU), independent of the GPU count.
 * Central: MFU 0.5 at 0.9 × TDP; interval: MFU 0.7 at 0.75 × TDP to MFU 0.3 at 1.0 × TDP.
 * Devices without a peak figure use 150 FLOP per byte of memory bandwidth (GPU) or 10 (CPU), a
 * stated assumption (edge modules count as GPU). ML.ENERGY's per-output-token energy already contains the prefill of its own
 * prompts, so adding this term slightly over-counts (conservative).
 */
import type { HardwareSpec } from '../catalog/hardware.ts'
import { estimate, type Estimate } from '../units/estimate.ts'
import { joules, ms, type Joules, type Milliseconds } from '../units/quantity.ts'

export const PREFILL_SOURCE =
  'modelled: compute-bound prefill, 2·N FLOP/token at MFU 0.5 (0.3–0.7), 0.9 × TDP (0.75–1.0)'

/** Peak dense 16-bit FLOP/s of one device, from the catalogue or the bandwidth rule. */
export function peakFlops(hw: HardwareSpec): number {
  if (hw.peak16Tflops !== undefined) return hw.peak16Tflops * 1e12
  return hw.memoryBandwidthGBs * 1e9 * (hw.kind === 'cpu' ? 10 : 150)
}

/** Energy per prompt token (whole replica), J. */
export function prefillEnergyPerToken(hw: HardwareSpec, activeParamsB: number): Estimate<Joules> {
  const flops = 2 * activeParamsB * 1e9
  const perFlopAt = (mfu: number, tdpShare: number): number =>
    (flops * hw.tdpW * tdpShare) / (peakFlops(hw) * mfu)
  return estimate(
    joules(perFlopAt(0.5, 0.9)),
    'modelled',
    PREFILL_SOURCE,
    joules(perFlopAt(0.7, 0.75)),
    joules(perFlopAt(0.3, 1.0)),
  )
}

/** Prefill time per prompt token for a replica of `gpus` devices, ms. */
export function prefillTimePerToken(
  hw: HardwareSpec,
  activeParamsB: number,
  gpus: number,
): Milliseconds {
  return ms(((2 * activeParamsB * 1e9) / (peakFlops(hw) * gpus * 0.5)) * 1000)
}

/**
 * @module routing/test-profile
 * A small synthetic `EnergyProfile` for tests and examples of routing (not for accounting): energy per
 * token falls and time per token rises linearly with batch size, power rises linearly from idle to
 * `peakPowerW` at `maxBatch`. Figures are `modelled` with a ±20 % interval.
 */
import type { EnergyProfile } from '../energy/profile.ts'
import { estimate } from '../units/estimate.ts'
import { joules, ms, watts } from '../units/quantity.ts'

export interface TestProfileParams {
  readonly model?: string
  readonly hardware?: string
  /** Energy per output token at batch 1 (J). */
  readonly joulesPerTokenAt1?: number
  /** Energy per output token at `maxBatch` (J). */
  readonly joulesPerTokenAtMax?: number
  /** Inter-token latency at batch 1 (ms). */
  readonly msPerTokenAt1?: number
  /** Inter-token latency at `maxBatch` (ms). */
  readonly msPerTokenAtMax?: number
  readonly maxBatch?: number
  readonly idlePowerW?: number
  readonly peakPowerW?: number
}

/** Builds a linear synthetic profile; defaults resemble an 8B model on one H100 (rounded). */
export function testProfile(params: TestProfileParams = {}): EnergyProfile {
  const maxBatch = params.maxBatch ?? 64
  const e1 = params.joulesPerTokenAt1 ?? 2
  const eMax = params.joulesPerTokenAtMax ?? 0.2
  const t1 = params.msPerTokenAt1 ?? 10
  const tMax = params.msPerTokenAtMax ?? 25
  const idle = params.idlePowerW ?? 100
  const peak = params.peakPowerW ?? 600
  const frac = (b: number): number =>
    maxBatch <= 1 ? 0 : (Math.min(Math.max(b, 1), maxBatch) - 1) / (maxBatch - 1)
  const source = 'synthetic test profile (routing/test-profile.ts)'
  const perOut = (b: number): number => e1 + (eMax - e1) * frac(b)
  return {
    model: params.model ?? 'test-model',
    hardware: params.hardware ?? 'TEST-GPU',
    precision: 'bf16',
    basis: 'parametric',
    source,
    gpus: 1,
    maxBatch,
    energyPerOutputToken: (b) =>
      estimate(
        joules(perOut(b)),
        'modelled',
        source,
        joules(perOut(b) * 0.8),
        joules(perOut(b) * 1.2),
      ),
    energyPerInputToken: (b) =>
      estimate(
        joules(perOut(b) / 10),
        'modelled',
        source,
        joules(perOut(b) * 0.08),
        joules(perOut(b) * 0.12),
      ),
    timePerOutputToken: (b) => ms(t1 + (tMax - t1) * frac(b)),
    timePerInputToken: (b) => ms((t1 + (tMax - t1) * frac(b)) / 20),
    power: (b) => watts(b <= 0 ? idle : idle + (peak - idle) * Math.min(1, b / maxBatch)),
    idlePower: watts(idle),
  }
}

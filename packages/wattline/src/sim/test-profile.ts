/**
 * @module sim/test-profile
 * A small linear `EnergyProfile` for the simulator's own tests (not for accounting): inter-token
 * time and power rise linearly with batch size. Figures are round numbers of the order of an 8B
 * model on one H100, not fitted values.
 */
import { estimate, joules, ms, watts, type EnergyProfile } from '@wattline/core'

export interface LinearProfileParams {
  readonly hardware?: string
  /** Inter-token time at batch 1 and its growth per extra sequence (ms). */
  readonly msPerToken?: number
  readonly msPerTokenPerBatch?: number
  /** Prefill time per prompt token (ms). */
  readonly msPerInputToken?: number
  readonly idlePowerW?: number
  /** Power at batch 1 and its growth per extra sequence (W). */
  readonly powerW?: number
  readonly powerPerBatchW?: number
  readonly maxBatch?: number
  readonly gpus?: number
}

/** Builds a linear synthetic profile. */
export function linearProfile(p: LinearProfileParams = {}): EnergyProfile {
  const t1 = p.msPerToken ?? 10
  const tb = p.msPerTokenPerBatch ?? 0.2
  const tin = p.msPerInputToken ?? 0.05
  const idle = p.idlePowerW ?? 100
  const p1 = p.powerW ?? 300
  const pb = p.powerPerBatchW ?? 5
  const source = 'linear test profile (sim/test-profile.ts)'
  const tpot = (b: number): number => t1 + tb * (Math.max(b, 1) - 1)
  const power = (b: number): number => (b <= 0 ? idle : p1 + pb * (b - 1))
  return {
    model: 'test-model',
    hardware: p.hardware ?? 'H100-SXM',
    precision: 'bf16',
    basis: 'parametric',
    source,
    gpus: p.gpus ?? 1,
    maxBatch: p.maxBatch ?? 64,
    energyPerOutputToken: (b) =>
      estimate(joules((power(b) * tpot(b)) / 1000 / Math.max(b, 1)), 'modelled', source),
    energyPerInputToken: (b) => estimate(joules((power(b) * tin) / 1000), 'modelled', source),
    timePerOutputToken: (b) => ms(tpot(b)),
    timePerInputToken: () => ms(tin),
    power: (b) => watts(power(b)),
    idlePower: watts(idle),
  }
}

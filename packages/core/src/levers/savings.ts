/**
 * @module levers/savings
 * The energy a lever saved on one request or a run, with its interval and its basis. Savings are
 * counterfactual by nature (the work that did not happen is never metered), so the basis is always
 * stated: `estimated-counterfactual` (the estimator's figure for the avoided work) or
 * `replay-counterfactual` (the same trace replayed without the lever, measured in the simulator).
 */
import type { LeverName } from '../engine/router.ts'

export const SAVING_BASES = ['estimated-counterfactual', 'replay-counterfactual'] as const
export type SavingBasis = (typeof SAVING_BASES)[number]

export interface LeverEnergySaving {
  readonly lever: LeverName
  /** IT energy saved, J (before PUE). */
  readonly energy_saved_j: number
  readonly energy_saved_low_j: number
  readonly energy_saved_high_j: number
  /** Facility energy saved × intensity, gCO2e. */
  readonly carbon_saved_g: number
  readonly basis: SavingBasis
}

/**
 * @module scheduling/time-shift-saving
 * The carbon a deferred request (a Batch API line) saved by running later: the facility energy it
 * was charged × (the intensity run-now would have met − the intensity it ran at). Time-shifting
 * moves work, it does not remove it, so the energy saved is 0 J (interval 0/0); the carbon figure
 * is an estimated counterfactual (the run-now baseline was not run). Negative when running later
 * was dirtier (a deadline forced a dirty slot). Pure.
 */
import { JOULES_PER_KWH } from '../units/quantity.ts'
import type { LeverEnergySaving } from '../levers/savings.ts'

export interface TimeShiftInput {
  /** Facility energy charged to the request (IT energy × PUE), J. */
  readonly facility_energy_j: number
  /** Intensity the request was charged at, gCO2e/kWh. */
  readonly ran_intensity_g_per_kwh: number
  /** Intensity at submission the baseline (run now) would have met, gCO2e/kWh. */
  readonly counterfactual_intensity_g_per_kwh: number
}

/** The `time-shift` lever's saving of one request; undefined when a figure is not finite. */
export function timeShiftSaving(input: TimeShiftInput): LeverEnergySaving | undefined {
  const e = input.facility_energy_j
  const delta = input.counterfactual_intensity_g_per_kwh - input.ran_intensity_g_per_kwh
  if (!Number.isFinite(e) || !Number.isFinite(delta)) return undefined
  return {
    lever: 'time-shift',
    energy_saved_j: 0,
    energy_saved_low_j: 0,
    energy_saved_high_j: 0,
    carbon_saved_g: (e * delta) / JOULES_PER_KWH,
    basis: 'estimated-counterfactual',
  }
}

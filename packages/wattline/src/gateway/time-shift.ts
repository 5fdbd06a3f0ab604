/**
 * @module gateway/time-shift
 * The `time-shift` saving of deferred work (Batch API lines): the facility energy the request was
 * charged, at the intensity it ran at against the intensity the submission time would have met
 * (`DispatchInput.timeShiftFromGPerKwh`; core's `timeShiftSaving`). The accounting adds it to the
 * ledger row's levers; the proxy route states it in the response headers.
 */
import { timeShiftSaving, type LeverEnergySaving } from '@wattline/core'
import type { Accounting } from '../http/accounting.ts'
import type { Dispatched } from './exchange-types.ts'
import type { SavingsSource } from './pipeline.ts'

/** The time-shift saving of a dispatched request, from its accounting (undefined: not deferred). */
export function timeShiftOf(
  d: Pick<Dispatched, 'timeShiftFromGPerKwh'>,
  a: Accounting,
): LeverEnergySaving | undefined {
  if (d.timeShiftFromGPerKwh === undefined) return undefined
  return timeShiftSaving({
    facility_energy_j: a.facilityEnergyJ,
    ran_intensity_g_per_kwh: a.intensity.intensity,
    counterfactual_intensity_g_per_kwh: d.timeShiftFromGPerKwh,
  })
}

/** The accounting's source of time-shift savings. */
export const timeShiftSavings: SavingsSource = {
  savings(ex, a, _end, _occupancy, out): void {
    const shifted = timeShiftOf(ex, a)
    if (shifted !== undefined) out.push(shifted)
  },
}

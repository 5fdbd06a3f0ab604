/**
 * @module accounting/carbon
 * Carbon of IT energy: facility energy (IT × PUE) × the grid intensity of the backend's zone at the
 * time, location-based (market-based instruments never reduce a figure, per SCI). `carbonOf` in
 * `units/quantity.ts` converts facility J at g/kWh; this module gives the per-joule factor that
 * a running integration (replay's simulator, a counterfactual shadow) multiplies IT energy by.
 */
import { JOULES_PER_KWH } from '../units/quantity.ts'

/**
 * gCO2e per J of IT energy on a site with `pue` in a zone at `intensityGPerKwh`:
 * PUE × intensity / 3.6e6 (J per kWh).
 *
 * @example
 * carbonPerItJoule(1.2, 400) * 3_600_000 // 480 g for 1 kWh of IT energy
 */
export function carbonPerItJoule(pue: number, intensityGPerKwh: number): number {
  return (pue * intensityGPerKwh) / JOULES_PER_KWH
}

/**
 * Carbon (gCO2e) of `itJ` of IT energy at `pue` and `intensityGPerKwh`:
 * IT J × PUE × intensity / 3.6e6 (the facility energy in kWh × g/kWh).
 */
export function carbonOfItEnergy(itJ: number, pue: number, intensityGPerKwh: number): number {
  return (itJ * pue * intensityGPerKwh) / JOULES_PER_KWH
}

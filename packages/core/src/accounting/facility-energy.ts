/**
 * @module accounting/facility-energy
 * Facility energy = IT energy × PUE of the backend's site (DESIGN.md, "Accounting rules"), for one
 * figure and for a fleet's per-backend totals (what replay and its lever stages add up).
 */
import { checkPue } from '../energy/request.ts'
import { joules, type Joules } from '../units/quantity.ts'

/** Facility energy = IT energy × PUE (PUE ≥ 1; `WL_INVALID_INPUT` otherwise). */
export function facilityEnergy(it: Joules, pue: number): Joules {
  checkPue(pue)
  return joules(it * pue)
}

/** One backend's totals over a run: IT energy (J, idle included), its idle part (J), carbon (g). */
export interface BackendEnergyTotals {
  readonly energyJ: number
  readonly idleEnergyJ: number
  /** Carbon of the backend's facility energy, gCO2e (already × PUE × intensity). */
  readonly carbonG: number
}

/** A fleet's facility energy (J), its idle part (J) and carbon (g), summed over backends. */
export interface FacilityTotals {
  readonly energyJ: number
  readonly idleEnergyJ: number
  readonly carbonG: number
}

/**
 * Σ over backends of IT energy × PUE (and of idle energy × PUE), with their carbon, for the backends
 * `include` keeps (all by default). `pueOf(j)` is the PUE of backend `j` (the index in `backends`).
 *
 * @example
 * facilityTotals(sim.backends, (j) => fleet.backends[j].pue).energyJ / JOULES_PER_KWH // kWh
 */
export function facilityTotals(
  backends: readonly BackendEnergyTotals[],
  pueOf: (index: number) => number,
  include: (index: number) => boolean = () => true,
): FacilityTotals {
  let energyJ = 0
  let idleEnergyJ = 0
  let carbonG = 0
  backends.forEach((b, j) => {
    if (!include(j)) return
    const pue = pueOf(j)
    energyJ += b.energyJ * pue
    idleEnergyJ += b.idleEnergyJ * pue
    carbonG += b.carbonG
  })
  return { energyJ, idleEnergyJ, carbonG }
}

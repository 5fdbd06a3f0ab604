/**
 * @module accounting/sci
 * The Software Carbon Intensity score per the Green Software Foundation's SCI specification
 * (ISO/IEC 21031:2024): `SCI = (E·I + M) per R`. Location-based intensity only: market-based
 * instruments never reduce a figure. Facility energy (E) is `facility-energy.ts`, M is
 * `embodied.ts`.
 */
import { WattlineError } from '../errors.ts'
import { estimate, type Estimate } from '../units/estimate.ts'
import {
  carbonOf,
  gramsCo2e,
  type GramsCo2e,
  type GramsPerKwh,
  type Joules,
} from '../units/quantity.ts'

/** A figure with its interval (same unit for all three). */
export interface Interval {
  readonly value: number
  readonly low: number
  readonly high: number
}

/** E·I + M, gCO2e: operational carbon plus embodied, low with low and high with high. */
export function sciTotal(operationalG: Interval, embodiedG: Interval): Interval {
  return {
    value: operationalG.value + embodiedG.value,
    low: operationalG.low + embodiedG.low,
    high: operationalG.high + embodiedG.high,
  }
}

/** (E·I + M) / R per functional unit, gCO2e; null when R ≤ 0 (no unit to divide by). */
export function sciPerUnit(totalG: Interval, functionalUnits: number): Interval | null {
  const r = functionalUnits
  if (!(r > 0)) return null
  return { value: totalG.value / r, low: totalG.low / r, high: totalG.high / r }
}

export interface SciInput {
  /** E: energy consumed (facility energy), J. */
  readonly energy: Estimate<Joules>
  /** I: location-based grid intensity, gCO2e/kWh. */
  readonly intensity: Estimate<GramsPerKwh>
  /** M: embodied share, gCO2e. */
  readonly embodied: Estimate<GramsCo2e>
  /** R: functional units (requests, 1,000 tokens, …); > 0. */
  readonly functionalUnits: number
}

/** SCI = (E·I + M) / R, gCO2e per functional unit; bounds combine low with low, high with high. */
export function sci(input: SciInput): Estimate<GramsCo2e> {
  const { energy: e, intensity: i, embodied: m, functionalUnits: r } = input
  if (!(Number.isFinite(r) && r > 0)) {
    throw new WattlineError('WL_INVALID_INPUT', `SCI needs R > 0, got ${r}`, {
      details: { field: 'functionalUnits' },
    })
  }
  const operational = {
    value: carbonOf(e.value, i.value),
    low: carbonOf(e.low, i.low),
    high: carbonOf(e.high, i.high),
  }
  const per = sciPerUnit(sciTotal(operational, m), r) as Interval
  const method = e.method === 'measured' && i.method === 'measured' && m.method === 'measured'
  return estimate(
    gramsCo2e(per.value),
    method ? 'measured' : 'modelled',
    `SCI = (E·I + M)/R; E: ${e.source}; I: ${i.source}; M: ${m.source}`,
    gramsCo2e(per.low),
    gramsCo2e(per.high),
  )
}

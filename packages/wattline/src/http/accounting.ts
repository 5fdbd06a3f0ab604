/**
 * @module http/accounting
 * A finished request's energy and carbon, with method and interval: IT energy from the backend's
 * live attribution (its work-weighted share of measured or modelled power over its lifetime),
 * facility energy = IT × PUE, carbon = facility energy × the zone's intensity when the request was
 * routed. A request that ran partly on modelled power (a stale meter's fallback) is `modelled`;
 * its interval combines the measured part (±5 %) and the modelled part (the profile's interval).
 */
import {
  carbonOfItEnergy,
  facilityEnergy,
  joules,
  type EnergyProfile,
  type IntensityPoint,
  type LiveRequestEnergy,
  type Method,
} from '@wattline/core'
import { sixSignificant } from '../gateway/significant.ts'

/** Relative accuracy applied to measured power: ±5 % (NVIDIA documents nvidia-smi power.draw as ±5 % of board power on recent GPUs). */
export const MEASURED_REL_ERROR = 0.05

export interface Accounting {
  /** IT energy (J) and its interval. */
  readonly energyJ: number
  readonly energyLowJ: number
  readonly energyHighJ: number
  readonly facilityEnergyJ: number
  readonly pue: number
  /** gCO2e and interval. */
  readonly carbonG: number
  readonly carbonLowG: number
  readonly carbonHighG: number
  readonly intensity: IntensityPoint
  readonly method: Method
  /** Where the power figure came from. */
  readonly energySource: string
}

export interface AccountInput {
  readonly energy: LiveRequestEnergy
  /** Label of the backend's meter ('' when it has none). */
  readonly meterSource: string
  readonly profile: EnergyProfile
  readonly pue: number
  readonly intensity: IntensityPoint
}

/** Computes the accounting of one request. */
export function account(input: AccountInput): Accounting {
  const { energy, profile, pue, intensity } = input
  const measuredJ = Math.max(0, energy.measuredJ)
  const modelledJ = Math.max(0, energy.modelledJ)
  const e = measuredJ + modelledJ
  let lowRatio = 1
  let highRatio = 1
  const est = profile.energyPerOutputToken(Math.max(1, Math.round(energy.meanOccupancy)))
  if (est.value > 0) {
    lowRatio = Math.min(1, est.low / est.value)
    highRatio = Math.max(1, est.high / est.value)
  }
  const low = measuredJ * (1 - MEASURED_REL_ERROR) + modelledJ * lowRatio
  const high = measuredJ * (1 + MEASURED_REL_ERROR) + modelledJ * highRatio
  const i = intensity.intensity
  return {
    energyJ: e,
    energyLowJ: low,
    energyHighJ: high,
    facilityEnergyJ: facilityEnergy(joules(e), pue),
    pue,
    carbonG: carbonOfItEnergy(e, pue, i),
    carbonLowG: carbonOfItEnergy(low, pue, i),
    carbonHighG: carbonOfItEnergy(high, pue, i),
    intensity,
    method: energy.method,
    energySource: energySource(input),
  }
}

/** Where the figure came from, one of a few stable strings per backend (reports group by it). */
function energySource(input: AccountInput): string {
  const model = `modelled power (in-flight models × occupancy), work-weighted; profile: ${input.profile.source}`
  if (input.energy.method === 'measured') return input.meterSource
  if (input.meterSource === '') return model
  return `${input.meterSource} stale or not reading, modelled fallback; ${model}`
}

/** The `x-wattline-*` response headers of an accounted request. */
export function accountingHeaders(backend: string, a: Accounting): Record<string, string> {
  return {
    'x-wattline-backend': backend,
    'x-wattline-zone': a.intensity.zone,
    'x-wattline-energy-j': headerNumber(a.energyJ),
    'x-wattline-carbon-g': headerNumber(a.carbonG),
    'x-wattline-intensity-g-per-kwh': headerNumber(a.intensity.intensity),
    'x-wattline-method': a.method,
  }
}

/** The object added to a stream's usage chunk when the client asked for usage. */
export function accountingJson(backend: string, a: Accounting): Record<string, unknown> {
  return {
    backend,
    zone: a.intensity.zone,
    energy_j: { value: a.energyJ, low: a.energyLowJ, high: a.energyHighJ },
    carbon_g: { value: a.carbonG, low: a.carbonLowG, high: a.carbonHighG },
    intensity_g_per_kwh: a.intensity.intensity,
    intensity_stale: a.intensity.stale,
    pue: a.pue,
    method: a.method,
  }
}

/**
 * A number as the `x-wattline-*` headers write it: `Number(n.toPrecision(6)).toString()`, without
 * the decimal round trip (gateway/significant.ts).
 */
export function headerNumber(n: number): string {
  return String(sixSignificant(n))
}

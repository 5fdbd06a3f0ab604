/**
 * @module http/accounting
 * A finished request's energy and carbon, with method and interval: IT energy from the backend's
 * energy tracker (its share of measured or modelled power over its lifetime), facility energy = IT ×
 * PUE, carbon = facility energy × the zone's intensity when the request was routed.
 */
import type { EnergyProfile, IntensityPoint, Method } from '@wattline/core'
import type { RequestEnergy } from './energy-tracker.ts'

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
  readonly energy: RequestEnergy
  readonly measured: boolean
  readonly meterSource: string
  readonly profile: EnergyProfile
  readonly pue: number
  readonly intensity: IntensityPoint
}

/** Computes the accounting of one request. */
export function account(input: AccountInput): Accounting {
  const { energy, profile, pue, intensity } = input
  const e = Math.max(0, energy.energyJ)
  let lowRatio = 1 - MEASURED_REL_ERROR
  let highRatio = 1 + MEASURED_REL_ERROR
  if (!input.measured) {
    const est = profile.energyPerOutputToken(Math.max(1, Math.round(energy.meanOccupancy)))
    if (est.value > 0) {
      lowRatio = Math.min(1, est.low / est.value)
      highRatio = Math.max(1, est.high / est.value)
    }
  }
  const facility = e * pue
  const gPerJ = intensity.intensity / 3_600_000
  return {
    energyJ: e,
    energyLowJ: e * lowRatio,
    energyHighJ: e * highRatio,
    facilityEnergyJ: facility,
    pue,
    carbonG: facility * gPerJ,
    carbonLowG: e * lowRatio * pue * gPerJ,
    carbonHighG: e * highRatio * pue * gPerJ,
    intensity,
    method: input.measured ? 'measured' : 'modelled',
    energySource: input.measured
      ? input.meterSource
      : `modelled power × occupancy; profile: ${profile.source}`,
  }
}

/** The `x-wattline-*` response headers of an accounted request. */
export function accountingHeaders(backend: string, a: Accounting): Record<string, string> {
  return {
    'x-wattline-backend': backend,
    'x-wattline-zone': a.intensity.zone,
    'x-wattline-energy-j': round(a.energyJ),
    'x-wattline-carbon-g': round(a.carbonG),
    'x-wattline-intensity-g-per-kwh': round(a.intensity.intensity),
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

function round(n: number): string {
  return Number(n.toPrecision(6)).toString()
}

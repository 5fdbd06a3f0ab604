/**
 * @module energy/network
 * Energy of the bytes that cross the service boundary (issue 12, "network energy"): request body
 * plus response body × an electricity intensity of data transmission (kWh/GB). Modelled, never
 * measured, and kept apart from compute energy everywhere (ledger, metrics, reports).
 *
 * Default coefficient: Aslan, Mayers, Koomey & France (2018), "Electricity Intensity of Internet
 * Data Transmission: Untangling the Estimates", Journal of Industrial Ecology 22(4):785–798,
 * doi:10.1111/jiec.12630 — 0.06 kWh/GB for 2015 (core + access networks, excluding end-user
 * devices and data centres), halving about every 2 years over 2000–2015. Beyond 2015 the trend is
 * an extrapolation (the authors caution against it; efficiency gains have slowed since), so the
 * coefficient is stated with its year and its source on every figure, and a user with a better one
 * (their provider's, or a per-year table) sets `network.kwh_per_gb` and `network.source`.
 */
import { JOULES_PER_KWH } from '../units/quantity.ts'

/** Bytes per GB (decimal, as transmission statistics count them). */
const BYTES_PER_GB = 1e9

/** The Aslan et al. (2018) trend: reference year, its intensity, and the halving period. */
export const ASLAN_2018_TREND = Object.freeze({
  year: 2015,
  kwhPerGb: 0.06,
  halvingYears: 2,
  source:
    'Aslan et al. 2018 (J. Industrial Ecology 22(4):785-798): 0.06 kWh/GB in 2015, halving every 2 years',
})

/** A transmission intensity and where it comes from. */
export interface NetworkCoefficient {
  readonly kwhPerGb: number
  readonly source: string
}

/**
 * The trend's coefficient for `year` (fractional years allowed): 0.06 × 0.5^((year − 2015) / 2)
 * kWh/GB; years after 2015 are marked as extrapolated in the source text.
 */
export function trendCoefficient(year: number): NetworkCoefficient {
  const t = ASLAN_2018_TREND
  const whole = Math.floor(year)
  return {
    kwhPerGb: t.kwhPerGb * 0.5 ** ((whole - t.year) / t.halvingYears),
    source:
      whole > t.year ? `${t.source}; extrapolated to ${whole}` : `${t.source}; value for ${whole}`,
  }
}

/** The calendar year (UTC) of an epoch-ms instant. */
export function utcYear(atMs: number): number {
  return new Date(atMs).getUTCFullYear()
}

/** IT energy of transferring `bytes` at `kwhPerGb`, joules. */
export function networkEnergyJ(bytes: number, kwhPerGb: number): number {
  return (Math.max(0, bytes) / BYTES_PER_GB) * kwhPerGb * JOULES_PER_KWH
}

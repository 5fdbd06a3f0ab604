/**
 * @module report/lever-savings
 * Two report sections read from the same request rows: the energy each lever saved (the ledger's
 * `levers` field, issue 11) and the network energy at the service boundary (`network_*`, issue 12),
 * kept apart from compute energy. Savings are counterfactual, never metered: each row states its
 * basis, and the totals say so.
 */
import {
  LeverSavingsRollup,
  NetworkRollup,
  trendCoefficient,
  utcYear,
  JOULES_PER_KWH,
  JOULES_PER_WH,
  type LeverEnergySaving,
  type ReportRequest,
} from '@wattline/core'
import type { LeverSavingsSection, NetworkSection } from './report-schema.ts'

/** What the two sections accumulate while the report streams requests. */
export interface SavingsAcc {
  /** The levers' savings (core's roll-up; its `usedJ` is the base of "share without it"). */
  readonly levers: LeverSavingsRollup
  readonly network: NetworkRollup
  /** Coefficients seen (kWh/GB, 6 significant digits) → the year of the first row using it. */
  readonly coefficients: Map<number, number>
}

export function newSavingsAcc(): SavingsAcc {
  return {
    levers: new LeverSavingsRollup(),
    network: new NetworkRollup(),
    coefficients: new Map(),
  }
}

/** Adds one request row of the report's scope. */
export function addSavings(acc: SavingsAcc, r: ReportRequest): void {
  acc.levers.add(r)
  if (acc.network.add(r) && r.network_bytes !== undefined && r.network_bytes > 0) {
    const k = round((((r.network_energy_j ?? 0) / r.network_bytes) * 1e9) / JOULES_PER_KWH)
    if (!acc.coefficients.has(k)) acc.coefficients.set(k, utcYear(r.at_ms))
  }
}

const round = (x: number): number => Number(x.toPrecision(6))

/** The savings-by-lever section: one row per lever and basis, largest saving first. */
export function leverSavingsSection(acc: SavingsAcc): LeverSavingsSection {
  const savings = acc.levers.byLeverAndBasis()
  const rows = savings.map((s) => {
    const counterfactualJ = acc.levers.usedJ + s.energy_saved_j
    return {
      lever: s.lever,
      basis: s.basis,
      requests: acc.levers.requestsOf(s.lever),
      energy_saved_wh: {
        value: round(s.energy_saved_j / JOULES_PER_WH),
        low: round(s.energy_saved_low_j / JOULES_PER_WH),
        high: round(s.energy_saved_high_j / JOULES_PER_WH),
        method: 'modelled' as const,
      },
      carbon_saved_g: round(s.carbon_saved_g),
      share_of_energy_without_it_pct:
        counterfactualJ > 0 ? round((100 * s.energy_saved_j) / counterfactualJ) : 0,
    }
  })
  rows.sort(
    (a, b) =>
      b.energy_saved_wh.value - a.energy_saved_wh.value || b.carbon_saved_g - a.carbon_saved_g,
  )
  const sum = (f: (s: LeverEnergySaving) => number): number => savings.reduce((n, s) => n + f(s), 0)
  return {
    basis_note:
      'Savings are counterfactual (the work that did not happen is never metered): ' +
      'estimated-counterfactual = the estimator’s figure for the avoided work, charged at the ' +
      'intensity it would have run at. IT energy, before PUE. Carbon-only levers (time-shift) ' +
      'save 0 J.',
    levers: rows,
    total_energy_saved_wh: {
      value: round(sum((s) => s.energy_saved_j) / JOULES_PER_WH),
      low: round(sum((s) => s.energy_saved_low_j) / JOULES_PER_WH),
      high: round(sum((s) => s.energy_saved_high_j) / JOULES_PER_WH),
      method: 'modelled',
    },
    total_carbon_saved_g: round(sum((s) => s.carbon_saved_g)),
  }
}

/** The network section: bytes, energy and carbon at the service boundary, and the coefficients used. */
export function networkSection(acc: SavingsAcc): NetworkSection {
  const sources = [...acc.coefficients.entries()]
    .sort(([a], [b]) => a - b)
    .map(([kwhPerGb, year]) => {
      const trend = trendCoefficient(year)
      const isTrend = Math.abs(trend.kwhPerGb - kwhPerGb) <= 1e-5 * trend.kwhPerGb
      return `${kwhPerGb} kWh/GB: ${isTrend ? trend.source : 'configured (network.kwh_per_gb and network.source in wattline.yaml)'}`
    })
  return {
    method: 'modelled',
    requests_counted: acc.network.requests,
    bytes: acc.network.bytes,
    energy_wh: round(acc.network.energyJ / JOULES_PER_WH),
    carbon_g: round(acc.network.carbonG),
    share_of_compute_energy_pct:
      acc.levers.usedJ > 0 ? round((100 * acc.network.energyJ) / acc.levers.usedJ) : 0,
    sources,
    note:
      'Request + response bytes × a transmission intensity (kWh/GB); not included in the IT, ' +
      'facility or carbon totals above (docs/methodology.md, "Network energy").',
  }
}

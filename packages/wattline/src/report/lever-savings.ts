/**
 * @module report/lever-savings
 * Two report sections read from the same request rows: the energy each lever saved (the ledger's
 * `levers` field, issue 11) and the network energy at the service boundary (`network_*`, issue 12),
 * kept apart from compute energy. Savings are counterfactual, never metered: each row states its
 * basis, and the totals say so.
 */
import {
  decodeLeverSavings,
  mergeByLever,
  trendCoefficient,
  utcYear,
  type LeverEnergySaving,
  JOULES_PER_KWH,
  JOULES_PER_WH,
} from '@wattline/core'
import type { ReportRequest } from './report-source.ts'
import type { LeverSavingsSection, NetworkSection } from './report-schema.ts'

/** What the two sections accumulate while the report streams requests. */
export interface SavingsAcc {
  /** Savings added up per lever and basis (key `lever NUL basis`). */
  readonly savings: Map<string, LeverEnergySaving>
  readonly requestsByLever: Map<string, number>
  /** Energy the requests used (IT, J): the base of "share of what it would have been". */
  usedJ: number
  netBytes: number
  netJ: number
  netG: number
  netRequests: number
  /** Coefficients seen (kWh/GB, 6 significant digits) → the year of the first row using it. */
  readonly coefficients: Map<number, number>
}

export function newSavingsAcc(): SavingsAcc {
  return {
    savings: new Map(),
    requestsByLever: new Map(),
    usedJ: 0,
    netBytes: 0,
    netJ: 0,
    netG: 0,
    netRequests: 0,
    coefficients: new Map(),
  }
}

/** Adds one request row of the report's scope. */
export function addSavings(acc: SavingsAcc, r: ReportRequest): void {
  acc.usedJ += r.energy_j
  if (r.levers !== undefined) {
    for (const e of decodeLeverSavings(r.levers)) {
      acc.requestsByLever.set(e.lever, (acc.requestsByLever.get(e.lever) ?? 0) + 1)
      const key = `${e.lever}\u0000${e.basis}`
      const was = acc.savings.get(key)
      acc.savings.set(key, was === undefined ? e : (mergeByLever([was, e])[0] as LeverEnergySaving))
    }
  }
  if (r.network_bytes !== undefined && r.network_energy_j !== undefined) {
    acc.netRequests += 1
    acc.netBytes += r.network_bytes
    acc.netJ += r.network_energy_j
    acc.netG += r.network_carbon_g ?? 0
    if (r.network_bytes > 0) {
      const k = round(((r.network_energy_j / r.network_bytes) * 1e9) / JOULES_PER_KWH)
      if (!acc.coefficients.has(k)) acc.coefficients.set(k, utcYear(r.at_ms))
    }
  }
}

const round = (x: number): number => Number(x.toPrecision(6))

/** The savings-by-lever section: one row per lever and basis, largest saving first. */
export function leverSavingsSection(acc: SavingsAcc): LeverSavingsSection {
  const savings = mergeByLever(acc.savings.values())
  const rows = savings.map((s) => {
    const counterfactualJ = acc.usedJ + s.energy_saved_j
    return {
      lever: s.lever,
      basis: s.basis,
      requests: acc.requestsByLever.get(s.lever) ?? 0,
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
    requests_counted: acc.netRequests,
    bytes: acc.netBytes,
    energy_wh: round(acc.netJ / JOULES_PER_WH),
    carbon_g: round(acc.netG),
    share_of_compute_energy_pct: acc.usedJ > 0 ? round((100 * acc.netJ) / acc.usedJ) : 0,
    sources,
    note:
      'Request + response bytes × a transmission intensity (kWh/GB); not included in the IT, ' +
      'facility or carbon totals above (docs/methodology.md, "Network energy").',
  }
}

/**
 * @module budget/metric-value
 * Computes a budget metric from totals. Energy metrics use IT energy attributed to requests (J,
 * before PUE, idle excluded: it is reported separately); the carbon metric uses carbon as accounted
 * (facility energy × intensity).
 */
import { JOULES_PER_WH } from '../units/quantity.ts'
import type { BudgetMetricName } from './budget-target.ts'

/** Sums over a set of requests. */
export interface UsageTotals {
  readonly requests: number
  readonly output_tokens: number
  /** IT energy, J. */
  readonly energy_j: number
  /** Carbon, gCO2e. */
  readonly carbon_g: number
}

/** The metric's value for `totals`, or null when undefined (no requests / no output tokens). */
export function metricValue(metric: BudgetMetricName, totals: UsageTotals): number | null {
  switch (metric) {
    case 'energy_per_1k_requests_wh':
      return totals.requests > 0
        ? ((totals.energy_j / JOULES_PER_WH) * 1000) / totals.requests
        : null
    case 'energy_per_output_token_j':
      return totals.output_tokens > 0 ? totals.energy_j / totals.output_tokens : null
    case 'carbon_per_1k_requests_g':
      return totals.requests > 0 ? (totals.carbon_g * 1000) / totals.requests : null
  }
}

/**
 * @module budget/watch-verdict
 * The production watch's judgement of one window: the budget ratio `value / limit` (limit =
 * target × (1 + variance)); above 1 is a breach once the window holds enough requests.
 */
import { budgetTarget, type BudgetSpec } from './budget-target.ts'
import { metricValue, type UsageTotals } from './metric-value.ts'

export interface WatchVerdict {
  /** Metric value over the window (metric unit), null without requests. */
  readonly value: number | null
  readonly limit: number
  /** value / limit; 0 while the window has no usable data. */
  readonly ratio: number
  readonly requests: number
  /** True when enough requests were seen to judge. */
  readonly judged: boolean
  readonly breached: boolean
}

/** Judges window totals against a budget. */
export function evaluateWatch(
  budget: BudgetSpec,
  totals: UsageTotals,
  minRequests: number,
): WatchVerdict {
  const { limit } = budgetTarget(budget)
  const value = metricValue(budget.metric, totals)
  const ratio = value === null ? 0 : value / limit
  const judged = totals.requests >= minRequests && value !== null
  return { value, limit, ratio, requests: totals.requests, judged, breached: judged && ratio > 1 }
}

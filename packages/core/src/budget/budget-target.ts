/**
 * @module budget/budget-target
 * A budget's target: `baseline × (1 − stage reduction)`, unless an explicit target is set, and the
 * gate's limit: `target × (1 + variance)`. Values are in the budget metric's unit.
 */

/** Metrics a budget may cap; the suffix is the unit. */
export const BUDGET_METRIC_UNITS = Object.freeze({
  energy_per_1k_requests_wh: 'Wh per 1,000 requests',
  energy_per_output_token_j: 'J per output token',
  carbon_per_1k_requests_g: 'gCO2e per 1,000 requests',
})
export type BudgetMetricName = keyof typeof BUDGET_METRIC_UNITS

/** The budget fields the gate and the watch need (the config's `budget:`, validated). */
export interface BudgetSpec {
  readonly metric: BudgetMetricName
  /** Reference value, metric unit, > 0. */
  readonly baseline: number
  readonly stage: 'pilot' | 'production'
  /** Reductions below baseline per stage, percent. */
  readonly stage_reductions_pct: { readonly pilot: number; readonly production: number }
  /** Explicit target (metric unit); replaces the stage target when set. */
  readonly target?: number | undefined
  /** Tolerance on the target, percent. */
  readonly variance_pct: number
  /** Largest accepted increase against the last accepted release, percent. */
  readonly max_regression_pct: number
}

/** A resolved target with how it was derived. */
export interface BudgetTarget {
  readonly metric: BudgetMetricName
  readonly unit: string
  readonly baseline: number
  readonly stage: 'pilot' | 'production'
  /** Reduction applied below baseline, percent (null when an explicit target was given). */
  readonly reduction_pct: number | null
  readonly target: number
  readonly variance_pct: number
  /** `target × (1 + variance_pct / 100)`: the highest accepted upper bound. */
  readonly limit: number
}

/** Resolves a budget's target and limit. */
export function budgetTarget(budget: BudgetSpec): BudgetTarget {
  const reduction = budget.target === undefined ? budget.stage_reductions_pct[budget.stage] : null
  const target = budget.target ?? budget.baseline * (1 - (reduction ?? 0) / 100)
  return {
    metric: budget.metric,
    unit: BUDGET_METRIC_UNITS[budget.metric],
    baseline: budget.baseline,
    stage: budget.stage,
    reduction_pct: reduction,
    target,
    variance_pct: budget.variance_pct,
    limit: target * (1 + budget.variance_pct / 100),
  }
}

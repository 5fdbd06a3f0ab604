/**
 * @module report/budget-terms
 * A budget's terms as the ledger's report source hands them on and the report lists them: metric,
 * baseline, stage, target, variance and regression limit, in that order (the report's JSON keeps
 * its key order).
 */
import type { BudgetView } from '@wattline/core'

/** The terms of a budget, without its service and model family. */
export type BudgetTerms = Pick<
  BudgetView,
  'metric' | 'baseline' | 'stage' | 'target' | 'variance_pct' | 'max_regression_pct'
>

/** The terms of `b`, copied field by field. */
export function budgetTerms(b: BudgetTerms): BudgetTerms {
  return {
    metric: b.metric,
    baseline: b.baseline,
    stage: b.stage,
    target: b.target,
    variance_pct: b.variance_pct,
    max_regression_pct: b.max_regression_pct,
  }
}

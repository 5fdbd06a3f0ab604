/**
 * @module budget/gate-verdict
 * The CI release gate as a pure function. A candidate passes when
 * 1. the upper end of its interval is within `target × (1 + variance)`, and
 * 2. its central value is no more than `max_regression_pct` above the last accepted release's.
 * The verdict carries every number and a sentence per check, for Markdown, JUnit and the ledger.
 */
import type { Method } from '../units/estimate.ts'
import { budgetTarget, type BudgetSpec, type BudgetTarget } from './budget-target.ts'

/** A candidate's measured metric, in the budget metric's unit. */
export interface GateMeasurement {
  readonly value: number
  readonly low: number
  readonly high: number
  readonly method: Method
  readonly source: string
}

/** The last accepted release of the same service (and family), if any. */
export interface PreviousRelease {
  readonly release: string
  readonly value: number
}

export interface GateCheck {
  readonly name: 'budget' | 'regression'
  readonly passed: boolean
  readonly message: string
}

export interface GateVerdict {
  readonly passed: boolean
  readonly target: BudgetTarget
  readonly measurement: GateMeasurement
  readonly previous: PreviousRelease | null
  /** Central value vs the previous release, percent (positive = worse); null without one. */
  readonly regression_pct: number | null
  readonly max_regression_pct: number
  /** `high / limit`: above 1 fails the budget check. */
  readonly budget_ratio: number
  readonly checks: readonly GateCheck[]
}

/** Judges a measurement against a budget and the previous accepted release. */
export function evaluateGate(
  budget: BudgetSpec,
  measurement: GateMeasurement,
  previous: PreviousRelease | null,
): GateVerdict {
  const target = budgetTarget(budget)
  const fmt = (n: number): string => formatNumber(n)
  const withinBudget = measurement.high <= target.limit
  const budgetCheck: GateCheck = {
    name: 'budget',
    passed: withinBudget,
    message: withinBudget
      ? `upper bound ${fmt(measurement.high)} ≤ limit ${fmt(target.limit)} ${target.unit} (target ${fmt(target.target)} + ${fmt(target.variance_pct)} % variance)`
      : `upper bound ${fmt(measurement.high)} > limit ${fmt(target.limit)} ${target.unit} (target ${fmt(target.target)} + ${fmt(target.variance_pct)} % variance)`,
  }
  const regression =
    previous === null || previous.value <= 0
      ? null
      : ((measurement.value - previous.value) / previous.value) * 100
  const regressionOk = regression === null || regression <= budget.max_regression_pct
  const regressionCheck: GateCheck = {
    name: 'regression',
    passed: regressionOk,
    message:
      previous === null || regression === null
        ? 'no accepted release to compare with'
        : `${fmt(measurement.value)} vs ${fmt(previous.value)} ${target.unit} of release ${previous.release}: ${regression >= 0 ? '+' : ''}${fmt(regression)} % (limit +${fmt(budget.max_regression_pct)} %)`,
  }
  return {
    passed: withinBudget && regressionOk,
    target,
    measurement,
    previous,
    regression_pct: regression,
    max_regression_pct: budget.max_regression_pct,
    budget_ratio: measurement.high / target.limit,
    checks: [budgetCheck, regressionCheck],
  }
}

/** Four significant digits, no exponent for everyday magnitudes. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n)
  if (n === 0) return '0'
  const abs = Math.abs(n)
  if (abs >= 1e-4 && abs < 1e9) return String(Number(n.toPrecision(4)))
  return n.toExponential(3)
}

/**
 * @module budget/tenant-budget
 * Budgets of one tenant of a service over a calendar period (UTC): the period that holds an
 * instant, and the verdict of the period's totals against the caps. Pure: the instant arrives as
 * data. docs/budgets.md "Tenant budgets" states the rule.
 */
import { MS_PER_HOUR } from '../units/quantity.ts'

/** Calendar periods a tenant budget may cover; each starts at 00:00 UTC (weeks on Monday). */
export const TENANT_BUDGET_PERIODS = ['hour', 'day', 'week', 'month'] as const
export type TenantBudgetPeriod = (typeof TENANT_BUDGET_PERIODS)[number]

/** What happens when a cap is reached: `warn` serves and flags, `enforce` refuses (429). */
export const TENANT_BUDGET_MODES = ['warn', 'enforce'] as const
export type TenantBudgetMode = (typeof TENANT_BUDGET_MODES)[number]

/** The caps of a tenant budget; at least one is set. */
export interface TenantBudgetCaps {
  /** IT energy attributed to the tenant's requests in the period, joules. */
  readonly energyJ?: number
  /** Carbon attributed to the tenant's requests in the period, gCO2e. */
  readonly carbonG?: number
  /** Share of a cap from which responses carry the `warning` state, percent (0–100). */
  readonly warnAtPct: number
}

/** The tenant's totals so far in the period. */
export interface TenantPeriodTotals {
  readonly energyJ: number
  readonly carbonG: number
}

/** A period `[fromMs, toMs)`, epoch ms. */
export interface PeriodWindow {
  readonly fromMs: number
  readonly toMs: number
}

export type TenantBudgetState = 'ok' | 'warning' | 'exceeded'

export interface TenantBudgetVerdict {
  readonly state: TenantBudgetState
  /** Largest used/cap over the caps set (1 = a cap reached). */
  readonly ratio: number
  /** The cap with that ratio. */
  readonly metric: 'energy_j' | 'carbon_g'
}

const MS_PER_DAY = 86_400_000

/** The calendar period (UTC) holding `atMs`. */
export function periodWindow(period: TenantBudgetPeriod, atMs: number): PeriodWindow {
  const d = new Date(atMs)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  switch (period) {
    case 'hour': {
      const from = Math.floor(atMs / MS_PER_HOUR) * MS_PER_HOUR
      return { fromMs: from, toMs: from + MS_PER_HOUR }
    }
    case 'day': {
      const from = Date.UTC(y, m, d.getUTCDate())
      return { fromMs: from, toMs: from + MS_PER_DAY }
    }
    case 'week': {
      const dayStart = Date.UTC(y, m, d.getUTCDate())
      // getUTCDay: 0 = Sunday; ISO weeks start on Monday.
      const sinceMonday = (d.getUTCDay() + 6) % 7
      const from = dayStart - sinceMonday * MS_PER_DAY
      return { fromMs: from, toMs: from + 7 * MS_PER_DAY }
    }
    case 'month':
      return { fromMs: Date.UTC(y, m, 1), toMs: Date.UTC(y, m + 1, 1) }
  }
}

/**
 * The period's totals held against the caps: `exceeded` once any cap is reached (used ≥ cap, the
 * central value: a hard cap refuses on what was accounted, not on an interval's upper end),
 * `warning` from `warnAtPct` of a cap, else `ok`.
 */
export function judgeTenantBudget(
  caps: TenantBudgetCaps,
  totals: TenantPeriodTotals,
): TenantBudgetVerdict {
  let ratio = 0
  let metric: TenantBudgetVerdict['metric'] = caps.energyJ === undefined ? 'carbon_g' : 'energy_j'
  if (caps.energyJ !== undefined && caps.energyJ > 0) {
    ratio = totals.energyJ / caps.energyJ
    metric = 'energy_j'
  }
  if (caps.carbonG !== undefined && caps.carbonG > 0) {
    const r = totals.carbonG / caps.carbonG
    if (r > ratio) {
      ratio = r
      metric = 'carbon_g'
    }
  }
  const state: TenantBudgetState =
    ratio >= 1 ? 'exceeded' : ratio * 100 >= caps.warnAtPct ? 'warning' : 'ok'
  return { state, ratio, metric }
}

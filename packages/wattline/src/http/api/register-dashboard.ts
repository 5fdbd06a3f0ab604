/**
 * @module http/api/register-dashboard
 * Everything the live gateway needs for the dashboard, in one call from the composition root: budget
 * statuses, the anomaly watch (also run on a timer so `wattline_anomalies_total` moves without
 * anyone watching), the `/api/` routes and the static app at `/dashboard/`. The ledger reader comes
 * from the composition root (its own connection to the ledger database, closed with the app).
 */
import {
  budgetTarget,
  type BudgetMetricName,
  type BudgetStatus,
  type BudgetStatusSource,
  type DashboardLedgerReader,
  type DashboardLiveState,
} from '@wattline/core'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { WattlineConfig } from '../../config/parse-config.ts'
import { configuredTenants } from '../../config/tenants.ts'
import { registerDashboardStatic } from '../dashboard-static.ts'
import { createAnomalyWatch } from './anomaly-watch.ts'
import { registerDashboardApi } from './dashboard-api.ts'

export interface LiveDashboardDeps {
  readonly config: WattlineConfig
  /** What the API and the anomaly watch read from the ledger. */
  readonly ledger: DashboardLedgerReader
  /** The gateway's live state (backends, zone intensities, recent decisions). */
  readonly live: DashboardLiveState
  readonly registry: Registry
  /** Wall clock, epoch ms. */
  readonly now: () => number
  /** The production budget watch; without it, budgets come from the config with no watch value. */
  readonly budgets?: BudgetStatusSource
  /** How often the anomaly watch scans the last day, ms (default 5 minutes; 0 = never). */
  readonly anomalyScanMs?: number
}

/** Registers `/api/*` and `/dashboard/` on the gateway's app. */
export async function registerLiveDashboard(
  app: FastifyInstance,
  deps: LiveDashboardDeps,
): Promise<void> {
  const { ledger } = deps
  const anomalies = createAnomalyWatch({ ledger, registry: deps.registry })
  const scanMs = deps.anomalyScanMs ?? 300_000
  const timer =
    scanMs > 0
      ? setInterval(() => {
          const to = deps.now()
          anomalies
            .scan({ from_ms: to - 86_400_000, to_ms: to })
            .catch((err: unknown) => app.log.warn({ err }, 'anomaly scan failed'))
        }, scanMs).unref()
      : undefined
  app.addHook('onClose', async () => {
    clearInterval(timer)
  })
  registerDashboardApi(app, {
    ledger,
    live: deps.live,
    budgets: deps.budgets ?? configuredBudgets(deps.config),
    now: deps.now,
    registry: deps.registry,
    anomalies,
    tenants: [...configuredTenants(deps.config.services)],
  })
  await registerDashboardStatic(app)
}

/** Budgets as configured (target from baseline and stage), without a watch value. */
export function configuredBudgets(config: Pick<WattlineConfig, 'services'>): BudgetStatusSource {
  const statuses: BudgetStatus[] = []
  for (const s of config.services) {
    if (s.budget === undefined) continue
    const t = budgetTarget({ ...s.budget, metric: s.budget.metric as BudgetMetricName })
    statuses.push({
      service: s.name,
      metric: t.metric,
      unit: t.unit,
      stage: t.stage,
      baseline: t.baseline,
      target: t.target,
      value: null,
      method: 'modelled',
      ratio: null,
      breached: false,
      window_s: s.budget.watch.window_s,
      evaluated_at_ms: null,
    })
  }
  return { budgets: () => statuses }
}

/**
 * @module budget-watch/budget-watch
 * The production watch: each service's budget evaluated over a rolling window of accounted
 * requests. It exposes `wattline_budget_ratio{service}` (value / limit, limit = target × (1 +
 * variance); above 1 is a breach: Argo Rollouts aborts on it, see deploy/), serves the dashboard's
 * budget list, and on a breach (and on recovery) logs and POSTs the configured webhooks.
 *
 * Energy metrics use the IT energy attributed to requests; idle energy is reported separately.
 */
import { Gauge, type Registry } from 'prom-client'
import { request } from 'undici'
import {
  budgetTarget,
  evaluateWatch,
  RollingTotals,
  type BudgetSpec,
  type BudgetStatus,
  type LedgerRecord,
  type LedgerSink,
  type RequestRecord,
} from '@wattline/core'
import { coreBudgetSpec, type BudgetConfig, type WebhookConfig } from '../config/budget.ts'

/** Name of the gauge Argo Rollouts watches. */
export const BUDGET_RATIO_METRIC = 'wattline_budget_ratio'

/**
 * One service's watch state: the dashboard API's `BudgetStatus` (`ratio` = value / limit, null
 * until `min_requests` were seen) plus the limit and the request count behind it.
 */
export interface WatchStatus extends BudgetStatus {
  /** target × (1 + variance): the ratio's denominator. */
  readonly limit: number
  readonly requests: number
}

/** The body POSTed to webhooks. */
export interface BudgetWebhookEvent {
  readonly event: 'budget_breach' | 'budget_recovered'
  readonly service: string
  readonly metric: string
  readonly unit: string
  readonly value: number | null
  readonly target: number
  readonly limit: number
  readonly ratio: number | null
  readonly requests: number
  readonly window_s: number
  readonly at: string
}

export interface BudgetWatchDeps {
  readonly registry: Registry
  /** Wall clock, epoch ms. */
  readonly now: () => number
  readonly env: Readonly<Record<string, string | undefined>>
  /** Structured logger (pino-compatible subset). */
  readonly log?: {
    warn(obj: object, msg: string): void
    info(obj: object, msg: string): void
    error(obj: object, msg: string): void
  }
}

export interface BudgetWatch {
  /** Adds an accounted request to its service's window. Never throws. */
  observe(record: RequestRecord): void
  /** Recomputes every ratio, updates the gauge and fires webhooks on transitions. */
  evaluate(): Promise<readonly WatchStatus[]>
  /** The latest statuses (dashboard `BudgetStatusSource`). */
  budgets(): readonly WatchStatus[]
  /** True while `service` is in breach (the dashboard flag). */
  breached(service: string): boolean
  /** Evaluates every `intervalMs` until `stop`. */
  start(intervalMs: number): void
  stop(): Promise<void>
}

interface Watched {
  readonly service: string
  readonly spec: BudgetSpec
  readonly config: BudgetConfig
  readonly window: RollingTotals
  measured: number
  modelled: number
  status: WatchStatus
}

/** Creates the watch for the services that have an enabled `budget.watch`. */
export function createBudgetWatch(
  services: readonly { readonly name: string; readonly budget?: BudgetConfig | undefined }[],
  deps: BudgetWatchDeps,
): BudgetWatch {
  const gauge =
    (deps.registry.getSingleMetric(BUDGET_RATIO_METRIC) as Gauge<'service'> | undefined) ??
    new Gauge({
      name: BUDGET_RATIO_METRIC,
      help: 'Budget metric over the watch window divided by target × (1 + variance); above 1 is over budget',
      labelNames: ['service'],
      registers: [deps.registry],
    })
  const watched = new Map<string, Watched>()
  for (const s of services) {
    if (s.budget === undefined || !s.budget.watch.enabled) continue
    const spec = coreBudgetSpec(s.budget)
    const t = budgetTarget(spec)
    watched.set(s.name, {
      service: s.name,
      spec,
      config: s.budget,
      window: new RollingTotals(s.budget.watch.window_s * 1000),
      measured: 0,
      modelled: 0,
      status: {
        service: s.name,
        metric: t.metric,
        unit: t.unit,
        stage: t.stage,
        baseline: t.baseline,
        target: t.target,
        limit: t.limit,
        value: null,
        method: 'modelled',
        ratio: null,
        breached: false,
        requests: 0,
        window_s: s.budget.watch.window_s,
        evaluated_at_ms: null,
      },
    })
  }
  let timer: NodeJS.Timeout | null = null
  let inflight: Promise<unknown> = Promise.resolve()

  async function notify(w: Watched, event: BudgetWebhookEvent['event']): Promise<void> {
    const s = w.status
    const body: BudgetWebhookEvent = {
      event,
      service: s.service,
      metric: s.metric,
      unit: s.unit,
      value: s.value,
      target: s.target,
      limit: s.limit,
      ratio: s.ratio,
      requests: s.requests,
      window_s: s.window_s,
      at: new Date(s.evaluated_at_ms ?? deps.now()).toISOString(),
    }
    await Promise.all(w.config.watch.webhooks.map((hook) => post(hook, body)))
  }

  async function post(hook: WebhookConfig, body: BudgetWebhookEvent): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (hook.bearer_token_env !== undefined) {
      const token = deps.env[hook.bearer_token_env]
      if (token !== undefined) headers['authorization'] = `Bearer ${token}`
    }
    try {
      const res = await request(hook.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        headersTimeout: hook.timeout_ms,
        bodyTimeout: hook.timeout_ms,
        signal: AbortSignal.timeout(hook.timeout_ms),
      })
      await res.body.dump()
      if (res.statusCode >= 300) {
        deps.log?.warn(
          { url: hook.url, status: res.statusCode, service: body.service },
          'budget webhook answered with an error',
        )
      }
    } catch (error) {
      // A webhook outage must never stop the watch or the gateway: log and carry on.
      deps.log?.warn(
        { url: hook.url, err: (error as Error).message, service: body.service },
        'budget webhook failed',
      )
    }
  }

  async function evaluate(): Promise<readonly WatchStatus[]> {
    const now = deps.now()
    const notifications: Promise<void>[] = []
    for (const w of watched.values()) {
      const totals = w.window.totals(now)
      const v = evaluateWatch(w.spec, totals, w.config.watch.min_requests)
      const was = w.status.breached
      w.status = {
        ...w.status,
        value: v.value,
        method: w.measured > 0 && w.modelled === 0 ? 'measured' : 'modelled',
        ratio: v.judged ? v.ratio : null,
        breached: v.breached,
        requests: v.requests,
        evaluated_at_ms: now,
      }
      gauge.set({ service: w.service }, v.judged ? v.ratio : 0)
      if (v.breached && !was) {
        deps.log?.warn(
          { service: w.service, ratio: v.ratio, value: v.value, limit: v.limit },
          'energy budget breached',
        )
        notifications.push(notify(w, 'budget_breach'))
      } else if (!v.breached && was) {
        deps.log?.info({ service: w.service, ratio: v.ratio }, 'energy budget back within limit')
        notifications.push(notify(w, 'budget_recovered'))
      }
    }
    const all = Promise.all(notifications)
    inflight = all
    await all
    return [...watched.values()].map((w) => w.status)
  }

  return {
    observe(record) {
      const w = watched.get(record.service)
      if (w === undefined || record.status >= 400) return
      w.window.add(record.at_ms, {
        requests: 1,
        output_tokens: record.output_tokens,
        energy_j: record.energy_j,
        carbon_g: record.carbon_g,
      })
      if (record.method === 'measured') w.measured += 1
      else w.modelled += 1
    },
    evaluate,
    budgets: () => [...watched.values()].map((w) => w.status),
    breached: (service) => watched.get(service)?.status.breached ?? false,
    start(intervalMs) {
      if (timer !== null) return
      timer = setInterval(() => {
        evaluate().catch((error: unknown) =>
          deps.log?.error({ err: String(error) }, 'budget watch failed'),
        )
      }, intervalMs)
      timer.unref()
    },
    async stop() {
      if (timer !== null) clearInterval(timer)
      timer = null
      await inflight
    },
  }
}

/** A sink that feeds request records to the watch and forwards everything to `inner`. */
export function watchingSink(inner: LedgerSink, watch: BudgetWatch): LedgerSink {
  return {
    append(record: LedgerRecord) {
      if (record.kind === 'request') watch.observe(record)
      inner.append(record)
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
  }
}

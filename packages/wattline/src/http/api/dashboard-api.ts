/**
 * @module http/api/dashboard-api
 * The read-only JSON API under `/api/` that the dashboard (and anyone else) reads: overview, services,
 * zones, backends, routing decisions, anomalies and budgets. Documented field by field, with units, in
 * docs/api.md. Every route is a GET; bad query parameters answer 400 in OpenAI's error shape with
 * `param` set, an unknown service 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  hasCode,
  WattlineError,
  type AnomaliesBody,
  type BudgetsBody,
  type BudgetStatusSource,
  type DashboardLedgerReader,
  type DashboardLiveState,
  type SavingsSource,
  type TimeWindow,
} from '@wattline/core'
import type { Registry } from 'prom-client'
import { createAnomalyWatch, type AnomalyWatch } from './anomaly-watch.ts'
import { parseLimit, parseWindow, type QueryResult } from './query.ts'
import { parseTenantScope, scopeToTenant, tenantsBody, type TenantScope } from './tenant-scope.ts'
import {
  backendsBody,
  decisionsBody,
  decisionsFromLedger,
  overviewBody,
  serviceDetailBody,
  servicesBody,
  windowFacts,
  windowJson,
  zonesBody,
  type WindowFacts,
} from './views.ts'

export interface DashboardApiDeps {
  readonly ledger: DashboardLedgerReader
  readonly live: DashboardLiveState
  readonly budgets: BudgetStatusSource
  /** Wall clock (epoch ms): the default window ends now. */
  readonly now: () => number
  /** Where `wattline_anomalies_total{kind}` is registered (ignored when `anomalies` is given). */
  readonly registry: Registry
  /** Savings the gateway tracks itself (caching, batching…), added to routing savings. */
  readonly savings?: SavingsSource
  /** A shared anomaly watch (e.g. one also run on a timer); created here when omitted. */
  readonly anomalies?: AnomalyWatch
  /** Tenants named in the config (listed by `/api/tenants` even without requests). */
  readonly tenants?: readonly string[]
}

/** Paths served, for `GET /api` and the docs. */
export const DASHBOARD_API_ROUTES = [
  '/api/overview',
  '/api/services',
  '/api/services/:name',
  '/api/zones',
  '/api/backends',
  '/api/decisions',
  '/api/anomalies',
  '/api/budgets',
  '/api/tenants',
] as const

const DECISIONS_DEFAULT = 50
const DECISIONS_MAX = 500
/** Without live decisions, how far back request rows are read for them. */
const DECISIONS_LOOKBACK_MS = 15 * 60_000

/**
 * Registers the dashboard API routes on `app`. Call once, on the gateway's app:
 * `registerDashboardApi(app, { ledger, live, budgets, now: () => clock.now(), registry })`.
 */
export function registerDashboardApi(app: FastifyInstance, deps: DashboardApiDeps): void {
  const anomalies = deps.anomalies ?? createAnomalyWatch(deps)

  /**
   * The window's facts; with `tenant=` in `query`, one tenant's (its requests and its allocated
   * share of idle energy, `idle_allocation` rule). A bad parameter throws `WL_INVALID_INPUT` naming
   * it (400 through `guarded`).
   */
  async function load(window: TimeWindow, query?: unknown): Promise<WindowFacts> {
    const scope = tenantScopeOf(query)
    const [requests, idle, power] = await Promise.all([
      deps.ledger.requests(window),
      deps.ledger.idleEnergy(window),
      deps.ledger.powerSamples(window),
    ])
    return scopeToTenant(windowFacts(window, requests, idle, power), scope)
  }

  app.get(
    '/api/tenants',
    guarded(async (req, reply) => {
      const window = windowOf(req.query, reply)
      if (window === undefined) return reply
      const scope = tenantScopeOf(req.query)
      noStore(reply)
      return tenantsBody(await load(window), scope.rule, new Set(deps.tenants ?? []))
    }),
  )

  function windowOf(query: unknown, reply: FastifyReply): TimeWindow | undefined {
    return unwrap(parseWindow(asQuery(query), deps.now()), reply)
  }

  app.get('/api', async (_req, reply) => {
    noStore(reply)
    return { routes: DASHBOARD_API_ROUTES, docs: 'docs/api.md' }
  })

  app.get(
    '/api/overview',
    guarded(async (req, reply) => {
      const window = windowOf(req.query, reply)
      if (window === undefined) return reply
      const [facts, extra] = await Promise.all([
        load(window, req.query),
        deps.savings?.savings(window) ?? Promise.resolve([]),
      ])
      noStore(reply)
      return overviewBody(facts, extra, deps.budgets.budgets())
    }),
  )

  app.get(
    '/api/services',
    guarded(async (req, reply) => {
      const window = windowOf(req.query, reply)
      if (window === undefined) return reply
      noStore(reply)
      return servicesBody(await load(window, req.query), deps.budgets.budgets())
    }),
  )

  app.get<{ Params: { name: string } }>(
    '/api/services/:name',
    guarded(async (req, reply) => {
      const window = windowOf(req.query, reply)
      if (window === undefined) return reply
      const body = serviceDetailBody(
        await load(window, req.query),
        deps.budgets.budgets(),
        req.params.name,
      )
      if (body === undefined) {
        return sendError(reply, 404, {
          code: 'WL_NOT_FOUND',
          param: 'name',
          message: `no service "${req.params.name}": no requests in the window and no budget`,
        })
      }
      noStore(reply)
      return body
    }),
  )

  app.get(
    '/api/zones',
    guarded(async (req, reply) => {
      const window = windowOf(req.query, reply)
      if (window === undefined) return reply
      noStore(reply)
      return zonesBody(await load(window, req.query), deps.live.zones())
    }),
  )

  app.get(
    '/api/backends',
    guarded(async (req, reply) => {
      const window = windowOf(req.query, reply)
      if (window === undefined) return reply
      noStore(reply)
      return backendsBody(await load(window, req.query), deps.live.backends())
    }),
  )

  app.get(
    '/api/decisions',
    guarded(async (req, reply) => {
      const limit = unwrap(parseLimit(asQuery(req.query), DECISIONS_DEFAULT, DECISIONS_MAX), reply)
      if (limit === undefined) return reply
      noStore(reply)
      const live = deps.live.recentDecisions(limit).slice(0, limit)
      if (live.length > 0) return decisionsBody(live)
      const now = deps.now()
      const recent = await deps.ledger.requests({
        from_ms: now - DECISIONS_LOOKBACK_MS,
        to_ms: now + 1,
      })
      return decisionsFromLedger(recent, limit)
    }),
  )

  app.get(
    '/api/anomalies',
    guarded(async (req, reply) => {
      const window = windowOf(req.query, reply)
      if (window === undefined) return reply
      const found = await anomalies.scan(window)
      noStore(reply)
      const body: AnomaliesBody = { window: windowJson(window), anomalies: [...found].reverse() }
      return body
    }),
  )

  app.get('/api/budgets', async (_req, reply) => {
    noStore(reply)
    const budgets = deps.budgets.budgets()
    const body: BudgetsBody = {
      budgets,
      breached: budgets.filter((b) => b.breached).map((b) => b.service),
    }
    return body
  })
}

/**
 * Wraps a handler so that a `WL_INVALID_INPUT` raised while reading (a window too large for the
 * ledger reader) answers 400 naming the parameter, like a bad query string.
 */
function guarded<R extends FastifyRequest>(
  handler: (req: R, reply: FastifyReply) => Promise<unknown>,
): (req: R, reply: FastifyReply) => Promise<unknown> {
  return async (req, reply) => {
    try {
      return await handler(req, reply)
    } catch (error) {
      if (!hasCode(error, 'WL_INVALID_INPUT')) throw error
      const param = error.details['param']
      return sendError(reply, 400, {
        code: 'WL_INVALID_INPUT',
        param: typeof param === 'string' ? param : 'from',
        message: error.message,
      })
    }
  }
}

/** `tenant` and `idle_allocation` of a query; throws `WL_INVALID_INPUT` naming a bad one. */
function tenantScopeOf(query: unknown): TenantScope {
  const r = parseTenantScope(asQuery(query))
  if (r.ok) return r.value
  throw new WattlineError('WL_INVALID_INPUT', r.message, { details: { param: r.param } })
}

function asQuery(query: unknown): Readonly<Record<string, unknown>> {
  return typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {}
}

function unwrap<T>(result: QueryResult<T>, reply: FastifyReply): T | undefined {
  if (result.ok) return result.value
  sendError(reply, 400, { code: 'WL_INVALID_INPUT', param: result.param, message: result.message })
  return undefined
}

function sendError(
  reply: FastifyReply,
  status: number,
  e: { readonly code: string; readonly param: string; readonly message: string },
): FastifyReply {
  return reply.code(status).send({
    error: { message: e.message, type: 'invalid_request_error', param: e.param, code: e.code },
  })
}

function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store')
}

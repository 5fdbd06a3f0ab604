/**
 * @module tenant-usage/tenant-usage
 * Per-tenant accounting in the live gateway: every accounted request row (the gateway's ledger
 * sink, {@link tenantSink}) adds its IT energy, carbon and one request to its tenant's Prometheus
 * counters and, when the tenant has a budget (`services[].tenants[].budget`), to the totals of the
 * budget's current calendar period (UTC). Before a request is dispatched the proxy route calls
 * {@link TenantUsage.admit}: below `warn_at_pct` of every cap the request is `ok`; from there
 * `warning`; once a cap is reached `exceeded`, which in `warn` mode is served with the header, a
 * log line (once per period) and a metric, and in `enforce` mode is refused with 429
 * `WL_BUDGET_EXCEEDED` and the reason, until the period ends. docs/budgets.md "Tenant budgets".
 *
 * Metric labels are bounded: a tenant that is not configured (in `api_keys` or `tenants`) and a
 * request without a tenant key are counted as `other`.
 *
 * Totals live in this replica's memory, seeded from the ledger at start ({@link TenantUsage.seed});
 * with a `cluster:` section the replicas share them through Redis ({@link TenantUsage.syncShared},
 * `redis-tenant-totals.ts`), each adding its own requests and reading the fleet's total back.
 */
import {
  judgeTenantBudget,
  periodWindow,
  WattlineError,
  type LedgerRecord,
  type LedgerSink,
  type RequestRecord,
  type TenantBudgetState,
} from '@wattline/core'
import type { Counter, Registry } from 'prom-client'
import { counterIn, gaugeIn } from '../metrics/registry-metrics.ts'
import { CachedCounter } from '../http/cached-metrics.ts'
import type { ServiceConfig } from '../config/schema.ts'
import { configuredTenants, RESERVED_TENANT, type TenantBudgetConfig } from '../config/tenants.ts'

/** The label value of tenants that are not configured (and of requests without a tenant key). */
export const OTHER_TENANT = RESERVED_TENANT

/** Response header: the tenant budget's state (`ok`, `warning`, `exceeded`). */
export const TENANT_BUDGET_HEADER = 'x-wattline-tenant-budget'
/** Response header: share of the closest cap used in the period, percent. */
export const TENANT_BUDGET_USED_HEADER = 'x-wattline-tenant-budget-used-pct'

export const TENANT_METRICS = {
  energy: 'wattline_tenant_energy_joules_total',
  carbon: 'wattline_tenant_carbon_grams_total',
  requests: 'wattline_tenant_requests_total',
  ratio: 'wattline_tenant_budget_ratio',
  exceeded: 'wattline_tenant_budget_exceeded_total',
} as const

export interface TenantUsageDeps {
  readonly services: readonly ServiceConfig[]
  readonly registry: Registry
  /** Wall clock, epoch ms (the period a request falls in). */
  readonly now: () => number
  readonly log?: { warn(obj: object, msg: string): void }
}

/** One budget's contribution to a shared-totals sync (`TenantUsage.syncShared`). */
export interface TenantSyncEntry {
  readonly service: string
  readonly tenant: string
  /** The period `[fromMs, toMs)`, epoch ms (part of the shared key). */
  readonly fromMs: number
  readonly toMs: number
  readonly nowMs: number
  /** What this replica knew before the delta: the shared total to start from when none exists. */
  readonly seedEnergyJ: number
  readonly seedCarbonG: number
  /** Accounted on this replica since its last successful sync. */
  readonly deltaEnergyJ: number
  readonly deltaCarbonG: number
}

/** Totals shared by replicas (Redis in `cluster:` mode): adds deltas, returns the fleet's totals. */
export interface SharedTenantTotals {
  add(
    entries: readonly TenantSyncEntry[],
  ): Promise<readonly { readonly energyJ: number; readonly carbonG: number }[]>
}

/** A tenant's totals in its budget's current period, as read from the ledger. */
export interface TenantTotals {
  readonly service: string
  readonly tenant: string
  readonly energy_j: number
  readonly carbon_g: number
}

/** The outcome of {@link TenantUsage.admit} for a request that may go on. */
export interface TenantAdmission {
  /** Response headers to send (empty when the tenant has no budget). */
  readonly headers: Readonly<Record<string, string>>
  readonly state: TenantBudgetState | null
}

/** A tenant's budget status (dashboard, tests). */
export interface TenantBudgetStatus {
  readonly service: string
  readonly tenant: string
  readonly period: TenantBudgetConfig['period']
  readonly mode: TenantBudgetConfig['mode']
  readonly period_from_ms: number
  readonly period_to_ms: number
  readonly energy_j: number
  readonly carbon_g: number
  readonly energy_cap_j: number | null
  readonly carbon_cap_g: number | null
  readonly ratio: number
  readonly state: TenantBudgetState
}

export interface TenantUsage {
  /** Counts an accounted request row (any kind of record is accepted; others are ignored). */
  observe(record: LedgerRecord): void
  /**
   * Judges the caller's tenant budget before dispatch. Throws `WL_BUDGET_EXCEEDED` (429, with
   * `retryAfterMs` to the period's end) when an `enforce` budget's cap is reached.
   */
  admit(service: string, tenant: string | null): TenantAdmission
  /** Adds totals already in the ledger for the current periods (at start; see `periods`). */
  seed(rows: readonly TenantTotals[]): void
  /** Each tenant budget's current period start (what to read from the ledger to seed it). */
  periods(): readonly {
    readonly service: string
    readonly tenant: string
    readonly fromMs: number
  }[]
  /** Every tenant budget's status now. */
  statuses(): readonly TenantBudgetStatus[]
  /**
   * Adds what this replica accounted since its last sync to the shared totals and takes the fleet's
   * totals back (run every `cluster.sync_interval_ms`). Resolves false when the store failed: the
   * replica keeps counting locally and sends the same deltas next time.
   */
  syncShared(store: SharedTenantTotals): Promise<boolean>
}

interface Budgeted {
  readonly service: string
  readonly tenant: string
  /** `{ service, tenant }`, the ratio gauge's labels (built once). */
  readonly labels: { readonly service: string; readonly tenant: string }
  readonly budget: TenantBudgetConfig
  fromMs: number
  toMs: number
  energyJ: number
  carbonG: number
  /** Accounted here and not yet added to the shared totals (cluster mode), J and g. */
  pendingEnergyJ: number
  pendingCarbonG: number
  /** The period whose exceedance was logged (one line per period). */
  loggedFromMs: number
}

/** Builds the tenant accounting over the services' config. */
export function createTenantUsage(deps: TenantUsageDeps): TenantUsage {
  const { registry } = deps
  const known = configuredTenants(deps.services)
  // Updated per request with label objects built once: prom-client's keying is skipped.
  const counter = <L extends string>(name: string, help: string, labels: L[]): Counter<L> =>
    counterIn(registry, name, help, labels, CachedCounter)
  const energy = counter(
    TENANT_METRICS.energy,
    'IT energy attributed to requests (before PUE), joules, by service and tenant (configured tenants; others as "other").',
    ['service', 'tenant'],
  )
  const carbon = counter(
    TENANT_METRICS.carbon,
    'Operational emissions of requests (facility energy × zone intensity), grams CO2e, by service and tenant.',
    ['service', 'tenant'],
  )
  const requests = counter(
    TENANT_METRICS.requests,
    'Accounted requests (every status, response-cache hits included), by service and tenant.',
    ['service', 'tenant'],
  )
  const exceeded = counter(
    TENANT_METRICS.exceeded,
    'Requests that arrived with their tenant budget exceeded, by service, tenant and mode (warn: served and flagged; enforce: refused with 429).',
    ['service', 'tenant', 'mode'],
  )
  const ratioGauge = gaugeIn(
    registry,
    TENANT_METRICS.ratio,
    "A tenant budget's use of its closest cap in the current period (used / cap; ≥ 1 = exceeded).",
    ['service', 'tenant'],
  )

  const budgets = new TwoKeyMap<Budgeted>()
  const start = deps.now()
  for (const s of deps.services) {
    for (const t of s.tenants ?? []) {
      if (t.budget === undefined) continue
      const w = periodWindow(t.budget.period, start)
      budgets.set(s.name, t.name, {
        service: s.name,
        tenant: t.name,
        labels: { service: s.name, tenant: t.name },
        budget: t.budget,
        fromMs: w.fromMs,
        toMs: w.toMs,
        energyJ: 0,
        carbonG: 0,
        pendingEnergyJ: 0,
        pendingCarbonG: 0,
        loggedFromMs: -1,
      })
      ratioGauge.set({ service: s.name, tenant: t.name }, 0)
    }
  }

  /** Moves `b` to the period holding `atMs` when it is later (totals restart at 0). */
  function roll(b: Budgeted, atMs: number): void {
    if (atMs < b.toMs) return
    const w = periodWindow(b.budget.period, atMs)
    b.fromMs = w.fromMs
    b.toMs = w.toMs
    b.energyJ = 0
    b.carbonG = 0
    b.pendingEnergyJ = 0
    b.pendingCarbonG = 0
  }

  function verdict(b: Budgeted): ReturnType<typeof judgeTenantBudget> {
    return judgeTenantBudget(
      {
        ...(b.budget.energy_j === undefined ? {} : { energyJ: b.budget.energy_j }),
        ...(b.budget.carbon_g === undefined ? {} : { carbonG: b.budget.carbon_g }),
        warnAtPct: b.budget.warn_at_pct,
      },
      { energyJ: b.energyJ, carbonG: b.carbonG },
    )
  }

  function add(service: string, tenant: string, atMs: number, energyJ: number, carbonG: number) {
    const b = budgets.get(service, tenant)
    if (b === undefined) return
    roll(b, deps.now())
    // A row of an earlier period (a long request finishing after the boundary) does not count
    // against the new one.
    if (atMs < b.fromMs) return
    b.energyJ += energyJ
    b.carbonG += carbonG
    b.pendingEnergyJ += energyJ
    b.pendingCarbonG += carbonG
    ratioGauge.set(b.labels, verdict(b).ratio)
  }

  async function syncShared(store: SharedTenantTotals): Promise<boolean> {
    const now = deps.now()
    const list = budgets.values()
    for (const b of list) roll(b, now)
    const sent = list.map((b) => ({
      b,
      fromMs: b.fromMs,
      energyJ: b.pendingEnergyJ,
      carbonG: b.pendingCarbonG,
    }))
    let totals: readonly { readonly energyJ: number; readonly carbonG: number }[]
    try {
      totals = await store.add(
        sent.map(({ b, fromMs, energyJ, carbonG }) => ({
          service: b.service,
          tenant: b.tenant,
          fromMs,
          toMs: b.toMs,
          nowMs: now,
          seedEnergyJ: b.energyJ - energyJ,
          seedCarbonG: b.carbonG - carbonG,
          deltaEnergyJ: energyJ,
          deltaCarbonG: carbonG,
        })),
      )
    } catch {
      return false
    }
    sent.forEach(({ b, fromMs, energyJ, carbonG }, i) => {
      const t = totals[i]
      // A period that ended while the sync was in flight starts from 0 here.
      if (t === undefined || b.fromMs !== fromMs) return
      // Requests accounted while the sync was in flight stay pending, on top of the fleet's total.
      b.pendingEnergyJ -= energyJ
      b.pendingCarbonG -= carbonG
      b.energyJ = t.energyJ + b.pendingEnergyJ
      b.carbonG = t.carbonG + b.pendingCarbonG
      ratioGauge.set(b.labels, verdict(b).ratio)
    })
    return true
  }

  /**
   * The counters' label object per (service, tenant label), built once: the counters
   * (`CachedCounter`) then update its series without keying it, and no key string is built per
   * request.
   */
  const labelsOf = new TwoKeyMap<{ readonly service: string; readonly tenant: string }>()
  function labelsFor(service: string, tenant: string) {
    let l = labelsOf.get(service, tenant)
    if (l === undefined) labelsOf.set(service, tenant, (l = { service, tenant }))
    return l
  }

  function observe(record: LedgerRecord): void {
    if (record.kind !== 'request') return
    const r = record as RequestRecord
    const labels = labelsFor(
      r.service,
      r.tenant !== null && known.has(r.tenant) ? r.tenant : OTHER_TENANT,
    )
    requests.inc(labels)
    if (r.energy_j > 0) energy.inc(labels, r.energy_j)
    if (r.carbon_g > 0) carbon.inc(labels, r.carbon_g)
    if (r.tenant !== null) add(r.service, r.tenant, r.at_ms, r.energy_j, r.carbon_g)
  }

  function admit(service: string, tenant: string | null): TenantAdmission {
    const b = tenant === null ? undefined : budgets.get(service, tenant)
    if (b === undefined) return NO_BUDGET
    const now = deps.now()
    roll(b, now)
    const v = verdict(b)
    ratioGauge.set(b.labels, v.ratio)
    const usedPct = Number((v.ratio * 100).toPrecision(4)).toString()
    const headers = { [TENANT_BUDGET_HEADER]: v.state, [TENANT_BUDGET_USED_HEADER]: usedPct }
    if (v.state !== 'exceeded') return { headers, state: v.state }
    exceeded.inc({ service: b.service, tenant: b.tenant, mode: b.budget.mode })
    const reason = reasonOf(b, v.metric)
    if (b.loggedFromMs !== b.fromMs) {
      b.loggedFromMs = b.fromMs
      deps.log?.warn(
        {
          service: b.service,
          tenant: b.tenant,
          mode: b.budget.mode,
          period: b.budget.period,
          energy_j: b.energyJ,
          carbon_g: b.carbonG,
          energy_cap_j: b.budget.energy_j ?? null,
          carbon_cap_g: b.budget.carbon_g ?? null,
          period_ends: new Date(b.toMs).toISOString(),
        },
        b.budget.mode === 'enforce'
          ? 'tenant budget exceeded: refusing its requests until the period ends'
          : 'tenant budget exceeded (warn mode: requests are served and flagged)',
      )
    }
    if (b.budget.mode === 'enforce') {
      throw new WattlineError('WL_BUDGET_EXCEEDED', reason, {
        details: { retryAfterMs: Math.max(1, b.toMs - now), tenant: b.tenant },
      })
    }
    return { headers, state: v.state }
  }

  function seed(rows: readonly TenantTotals[]): void {
    for (const r of rows) {
      const b = budgets.get(r.service, r.tenant)
      if (b === undefined) continue
      b.energyJ += r.energy_j
      b.carbonG += r.carbon_g
      ratioGauge.set(b.labels, verdict(b).ratio)
    }
  }

  return {
    observe,
    admit,
    seed,
    syncShared,
    periods: () =>
      budgets.values().map((b) => {
        roll(b, deps.now())
        return { service: b.service, tenant: b.tenant, fromMs: b.fromMs }
      }),
    statuses: () =>
      budgets.values().map((b) => {
        roll(b, deps.now())
        const v = verdict(b)
        return {
          service: b.service,
          tenant: b.tenant,
          period: b.budget.period,
          mode: b.budget.mode,
          period_from_ms: b.fromMs,
          period_to_ms: b.toMs,
          energy_j: b.energyJ,
          carbon_g: b.carbonG,
          energy_cap_j: b.budget.energy_j ?? null,
          carbon_cap_g: b.budget.carbon_g ?? null,
          ratio: v.ratio,
          state: v.state,
        }
      }),
  }
}

/** The admission of a tenant without a budget: no headers (shared, frozen: nothing per request). */
const NO_BUDGET: TenantAdmission = Object.freeze({ headers: Object.freeze({}), state: null })

/** Values by (service, tenant), looked up without building a key string per request. */
class TwoKeyMap<V> {
  readonly #byService = new Map<string, Map<string, V>>()

  get(service: string, tenant: string): V | undefined {
    return this.#byService.get(service)?.get(tenant)
  }

  set(service: string, tenant: string, value: V): void {
    let m = this.#byService.get(service)
    if (m === undefined) this.#byService.set(service, (m = new Map()))
    m.set(tenant, value)
  }

  /** Every value, in insertion order of services then tenants. */
  values(): V[] {
    const out: V[] = []
    for (const m of this.#byService.values()) for (const v of m.values()) out.push(v)
    return out
  }
}

/** The sentence a refused (or flagged) request gets: which cap, how much used, when it resets. */
function reasonOf(b: Budgeted, metric: 'energy_j' | 'carbon_g'): string {
  const used =
    metric === 'energy_j'
      ? `${fmt(b.energyJ)} J of IT energy against a cap of ${fmt(b.budget.energy_j ?? 0)} J`
      : `${fmt(b.carbonG)} gCO2e against a cap of ${fmt(b.budget.carbon_g ?? 0)} gCO2e`
  return `tenant '${b.tenant}' of service '${b.service}' has used its budget for the ${b.budget.period}: ${used} this ${b.budget.period} (UTC); requests are refused until ${new Date(b.toMs).toISOString()}`
}

function fmt(n: number): string {
  return Number(n.toPrecision(4)).toString()
}

/** A sink that counts request rows for the tenants, then passes every record on. */
export function tenantSink(inner: LedgerSink, usage: TenantUsage): LedgerSink {
  return {
    append(record: LedgerRecord) {
      usage.observe(record)
      inner.append(record)
    },
    flush: () => inner.flush(),
    close: () => inner.close(),
  }
}

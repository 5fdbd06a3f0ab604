/**
 * @module http/api/tenant-scope
 * The dashboard API's tenant view: the `tenant` and `idle_allocation` query parameters, the window's
 * facts narrowed to one tenant (its request rows, and each backend's idle rows scaled to the share
 * of idle energy allocated to it by the rule), and the `GET /api/tenants` body. The allocation is
 * core's (`TenantUsage`, `allocateIdle` per backend), the same roll-up as the report's Tenants section.
 */
import {
  TenantPoolUses,
  TenantUsage,
  DEFAULT_IDLE_ALLOCATION,
  IDLE_ALLOCATION_BASIS,
  IDLE_ALLOCATION_RULES,
  type IdleAllocationRule,
  type IdleEnergyRecord,
  type Method,
  type RequestRecord,
  type TenantRowJson,
  type TenantsBody,
} from '@wattline/core'
import type { QueryResult } from './query.ts'
import { windowJson, type WindowFacts } from './views.ts'

/** Longest tenant name the API accepts in `tenant=`. */
export const MAX_TENANT_CHARS = 200

/** The tenant filter and the idle allocation rule of a request. */
export interface TenantScope {
  /** One tenant's view; undefined = every tenant. */
  readonly tenant?: string
  readonly rule: IdleAllocationRule
}

/** Reads `tenant` (a name, given once) and `idle_allocation` (default `proportional`). */
export function parseTenantScope(
  query: Readonly<Record<string, unknown>>,
): QueryResult<TenantScope> {
  const rawRule = query['idle_allocation']
  let rule: IdleAllocationRule = DEFAULT_IDLE_ALLOCATION
  if (rawRule !== undefined && rawRule !== '') {
    if (
      typeof rawRule !== 'string' ||
      !(IDLE_ALLOCATION_RULES as readonly string[]).includes(rawRule)
    )
      return {
        ok: false,
        param: 'idle_allocation',
        message: `\`idle_allocation\` must be one of ${IDLE_ALLOCATION_RULES.join(', ')}`,
      }
    rule = rawRule as IdleAllocationRule
  }
  const raw = query['tenant']
  if (raw === undefined || raw === '') return { ok: true, value: { rule } }
  if (typeof raw !== 'string')
    return { ok: false, param: 'tenant', message: '`tenant` must be given once' }
  if (raw.length > MAX_TENANT_CHARS)
    return {
      ok: false,
      param: 'tenant',
      message: `\`tenant\` may have at most ${MAX_TENANT_CHARS} characters`,
    }
  return { ok: true, value: { tenant: raw, rule } }
}

/** Each backend's idle share (0–1) allocated to each tenant key under `rule`. */
function idleShares(
  requests: readonly RequestRecord[],
  rule: IdleAllocationRule,
): Map<string, Map<string | null, number>> {
  const uses = new TenantPoolUses()
  for (const r of requests) uses.add(r.backend, r.tenant, r.energy_j)
  const out = new Map<string, Map<string | null, number>>()
  for (const backend of uses.backends()) {
    out.set(backend, new Map(uses.allocate(backend, 1, rule).map((s) => [s.tenant, s.idleJ])))
  }
  return out
}

/**
 * The facts of one tenant: its requests, and each idle row scaled by the tenant's allocated share of
 * that backend's idle energy (rows of backends it did not use drop out). Power samples are the
 * backends' own and stay as they are.
 */
export function scopeToTenant(facts: WindowFacts, scope: TenantScope): WindowFacts {
  if (scope.tenant === undefined) return facts
  const tenant = scope.tenant
  const shares = idleShares(facts.requests, scope.rule)
  const idle: IdleEnergyRecord[] = []
  for (const i of facts.idle) {
    const f = shares.get(i.backend)?.get(tenant) ?? 0
    if (f <= 0) continue
    idle.push({
      ...i,
      energy_j: i.energy_j * f,
      facility_energy_j: i.facility_energy_j * f,
      carbon_g: i.carbon_g * f,
    })
  }
  return { ...facts, requests: facts.requests.filter((r) => r.tenant === tenant), idle }
}

/** `GET /api/tenants`: every tenant seen in the window or configured, busiest first. */
export function tenantsBody(
  facts: WindowFacts,
  rule: IdleAllocationRule,
  configured: ReadonlySet<string>,
): TenantsBody {
  const usage = new TenantUsage()
  for (const name of configured) usage.tenant(name)
  for (const r of facts.requests) usage.addRequest(r)
  for (const i of facts.idle) usage.addIdle(i.backend, i.energy_j, i.carbon_g)
  const { rows, poolIdleJ, unallocatedIdleJ } = usage.allocate(rule)
  const totalJ = facts.requests.reduce((t, r) => t + r.energy_j, 0)
  const totalN = facts.requests.length
  const SOURCE = 'ledger: request rows of the tenant in the window'
  const tenants: TenantRowJson[] = rows.map((a) => {
    const method: Method =
      a.methods.size === 1 && a.methods.has('measured') ? 'measured' : 'modelled'
    return {
      tenant: a.tenant,
      configured: a.tenant !== null && configured.has(a.tenant),
      requests: a.requests,
      failed_requests: a.failed,
      it_energy_j: { value: a.itJ, low: a.itLowJ, high: a.itHighJ, method, source: SOURCE },
      carbon_g: {
        value: a.carbonG,
        low: a.carbonLowG,
        high: a.carbonHighG,
        method,
        source: SOURCE,
      },
      share_of_it_energy: totalJ > 0 ? a.itJ / totalJ : null,
      share_of_requests: totalN > 0 ? a.requests / totalN : null,
      idle_allocated_j: a.idleJ,
      idle_allocated_carbon_g: a.idleCarbonG,
    }
  })
  return {
    window: windowJson(facts.window),
    idle_allocation: rule,
    idle_allocation_basis: IDLE_ALLOCATION_BASIS[rule],
    pool_idle_energy_j: poolIdleJ,
    unallocated_idle_energy_j: unallocatedIdleJ,
    tenants,
  }
}

/**
 * @module http/api/tenant-scope
 * The dashboard API's tenant view: the `tenant` and `idle_allocation` query parameters, the window's
 * facts narrowed to one tenant (its request rows, and each backend's idle rows scaled to the share
 * of idle energy allocated to it by the rule), and the `GET /api/tenants` body. The allocation is
 * core's `allocateIdle` per backend over the window's requests, as in the report's Tenants section.
 */
import {
  TenantPoolUses,
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
  interface Acc {
    requests: number
    failed: number
    j: number
    jLo: number
    jHi: number
    g: number
    gLo: number
    gHi: number
    methods: Set<Method>
    idleJ: number
    idleG: number
  }
  const rows = new Map<string | null, Acc>()
  const accOf = (t: string | null): Acc => {
    let a = rows.get(t)
    if (a === undefined) {
      a = {
        requests: 0,
        failed: 0,
        j: 0,
        jLo: 0,
        jHi: 0,
        g: 0,
        gLo: 0,
        gHi: 0,
        methods: new Set(),
        idleJ: 0,
        idleG: 0,
      }
      rows.set(t, a)
    }
    return a
  }
  for (const name of configured) accOf(name)
  for (const r of facts.requests) {
    const a = accOf(r.tenant)
    a.requests += 1
    if (r.status >= 400) a.failed += 1
    a.j += r.energy_j
    a.jLo += r.energy_low_j
    a.jHi += r.energy_high_j
    a.g += r.carbon_g
    a.gLo += r.carbon_low_g
    a.gHi += r.carbon_high_g
    a.methods.add(r.method)
  }
  const shares = idleShares(facts.requests, rule)
  let poolJ = 0
  let unallocatedJ = 0
  for (const i of facts.idle) {
    poolJ += i.energy_j
    const s = shares.get(i.backend)
    if (s === undefined) {
      unallocatedJ += i.energy_j
      continue
    }
    for (const [tenant, f] of s) {
      const a = accOf(tenant)
      a.idleJ += i.energy_j * f
      a.idleG += i.carbon_g * f
    }
  }
  const totalJ = facts.requests.reduce((t, r) => t + r.energy_j, 0)
  const totalN = facts.requests.length
  const SOURCE = 'ledger: request rows of the tenant in the window'
  const tenants: TenantRowJson[] = [...rows.entries()]
    .map(([tenant, a]) => {
      const method: Method =
        a.methods.size === 1 && a.methods.has('measured') ? 'measured' : 'modelled'
      return {
        tenant,
        configured: tenant !== null && configured.has(tenant),
        requests: a.requests,
        failed_requests: a.failed,
        it_energy_j: { value: a.j, low: a.jLo, high: a.jHi, method, source: SOURCE },
        carbon_g: { value: a.g, low: a.gLo, high: a.gHi, method, source: SOURCE },
        share_of_it_energy: totalJ > 0 ? a.j / totalJ : null,
        share_of_requests: totalN > 0 ? a.requests / totalN : null,
        idle_allocated_j: a.idleJ,
        idle_allocated_carbon_g: a.idleG,
      }
    })
    .sort(
      (x, y) =>
        y.it_energy_j.value + y.idle_allocated_j - (x.it_energy_j.value + x.idle_allocated_j) ||
        (x.tenant ?? '\uffff').localeCompare(y.tenant ?? '\uffff'),
    )
  return {
    window: windowJson(facts.window),
    idle_allocation: rule,
    idle_allocation_basis: IDLE_ALLOCATION_BASIS[rule],
    pool_idle_energy_j: poolJ,
    unallocated_idle_energy_j: unallocatedJ,
    tenants,
  }
}

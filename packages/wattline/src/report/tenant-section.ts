/**
 * @module report/tenant-section
 * The report's "Tenants" section: each tenant's requests, IT energy and carbon (with interval and
 * method), its share of the scope's, and the shared-pool idle energy allocated to it by the stated
 * rule (core's `allocateIdle`: per backend, proportional to active IT energy by default, or
 * `equal`, or by `requests`). Requests without a tenant key are one row with `tenant: null`.
 * The allocated idle energy sums to the scope's idle energy, except idle energy of backends no
 * request used in the period, which is reported as `unallocated_idle_it_energy_wh`.
 */
import {
  DEFAULT_IDLE_ALLOCATION,
  TenantPoolUses,
  IDLE_ALLOCATION_BASIS,
  type IdleAllocationRule,
  type Method,
  JOULES_PER_WH,
} from '@wattline/core'
import type { ReportRequest } from './report-source.ts'
import type { FigureMethod, TenantSection } from './report-schema.ts'

interface TenantTotals {
  readonly tenant: string | null
  requests: number
  failed: number
  itJ: number
  itLowJ: number
  itHighJ: number
  carbonG: number
  carbonLowG: number
  carbonHighG: number
  readonly methods: Set<Method>
  idleJ: number
  idleCarbonG: number
}

/** What the section accumulates while the report streams requests and idle intervals. */
export interface TenantAcc {
  readonly tenants: Map<string | null, TenantTotals>
  /** Each tenant's use of each backend (what idle energy is shared by). */
  readonly pools: TenantPoolUses
  /** backend → idle energy of the scope in the period (IT J, carbon g). */
  readonly idle: Map<string, { itJ: number; carbonG: number }>
}

export function newTenantAcc(): TenantAcc {
  return { tenants: new Map(), pools: new TenantPoolUses(), idle: new Map() }
}

/** Adds one request row of the report's scope. */
export function addTenantRequest(acc: TenantAcc, r: ReportRequest): void {
  const key = r.tenant ?? null
  let t = acc.tenants.get(key)
  if (t === undefined) {
    t = {
      tenant: key,
      requests: 0,
      failed: 0,
      itJ: 0,
      itLowJ: 0,
      itHighJ: 0,
      carbonG: 0,
      carbonLowG: 0,
      carbonHighG: 0,
      methods: new Set(),
      idleJ: 0,
      idleCarbonG: 0,
    }
    acc.tenants.set(key, t)
  }
  t.requests += 1
  if (r.status >= 400) t.failed += 1
  t.itJ += r.energy_j
  t.itLowJ += r.energy_low_j
  t.itHighJ += r.energy_high_j
  t.carbonG += r.carbon_g
  t.carbonLowG += r.carbon_low_g
  t.carbonHighG += r.carbon_high_g
  t.methods.add(r.method)
  acc.pools.add(r.backend, key, r.energy_j)
}

/** Adds a backend's idle energy charged to the scope in the period (IT J and its carbon, g). */
export function addTenantIdle(acc: TenantAcc, backend: string, itJ: number, carbonG: number): void {
  const i = acc.idle.get(backend) ?? { itJ: 0, carbonG: 0 }
  i.itJ += itJ
  i.carbonG += carbonG
  acc.idle.set(backend, i)
}

/** The section, idle energy allocated by `rule`. */
export function tenantSection(
  acc: TenantAcc,
  rule: IdleAllocationRule = DEFAULT_IDLE_ALLOCATION,
): TenantSection {
  let unallocatedJ = 0
  let poolIdleJ = 0
  for (const [backend, idle] of acc.idle) {
    poolIdleJ += idle.itJ
    const shares = acc.pools.allocate(backend, idle.itJ, rule)
    if (shares.length === 0) {
      unallocatedJ += idle.itJ
      continue
    }
    for (const s of shares) {
      const t = acc.tenants.get(s.tenant)
      if (t === undefined) continue
      t.idleJ += s.idleJ
      t.idleCarbonG += idle.itJ > 0 ? (idle.carbonG * s.idleJ) / idle.itJ : 0
    }
  }
  const all = [...acc.tenants.values()]
  const totalJ = all.reduce((s, t) => s + t.itJ, 0)
  const totalRequests = all.reduce((s, t) => s + t.requests, 0)
  const pct = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0)
  const rows = all
    .sort(
      (a, b) =>
        b.itJ + b.idleJ - (a.itJ + a.idleJ) ||
        (a.tenant ?? '\uffff').localeCompare(b.tenant ?? '\uffff'),
    )
    .map((t) => ({
      tenant: t.tenant,
      requests: t.requests,
      failed_requests: t.failed,
      it_energy_wh: {
        value: t.itJ / JOULES_PER_WH,
        low: t.itLowJ / JOULES_PER_WH,
        high: t.itHighJ / JOULES_PER_WH,
        method: methodOf(t.methods),
      },
      carbon_g: {
        value: t.carbonG,
        low: t.carbonLowG,
        high: t.carbonHighG,
        method: methodOf(t.methods),
      },
      share_of_it_energy_pct: pct(t.itJ, totalJ),
      share_of_requests_pct: pct(t.requests, totalRequests),
      idle_allocated_it_energy_wh: t.idleJ / JOULES_PER_WH,
      idle_allocated_carbon_g: t.idleCarbonG,
      it_energy_with_idle_wh: (t.itJ + t.idleJ) / JOULES_PER_WH,
    }))
  return {
    idle_allocation: rule,
    idle_allocation_basis: IDLE_ALLOCATION_BASIS[rule],
    pool_idle_it_energy_wh: poolIdleJ / JOULES_PER_WH,
    unallocated_idle_it_energy_wh: unallocatedJ / JOULES_PER_WH,
    tenants: rows,
  }
}

function methodOf(methods: ReadonlySet<Method>): FigureMethod {
  if (methods.size === 0) return 'modelled'
  if (methods.size > 1) return 'mixed'
  return methods.has('measured') ? 'measured' : 'modelled'
}

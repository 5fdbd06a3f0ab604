/**
 * @module accounting/tenant-usage
 * Each tenant's requests, IT energy and carbon (with intervals and methods) and the shared-pool
 * idle energy allocated to it by a rule (`allocateIdle`, per backend). Requests without a tenant key
 * are one row with `tenant: null`. The allocated idle energy sums to the idle energy added, except
 * idle energy of backends no request used, which is returned as unallocated. The report's Tenants
 * section and the dashboard API's `GET /api/tenants` are both built from this.
 */
import type { RequestRecord } from '../ledger/records.ts'
import type { Method } from '../units/estimate.ts'
import { TenantPoolUses, type IdleAllocationRule } from './tenant-idle.ts'

/** The request fields a tenant roll-up reads. */
export type TenantRequest = Pick<
  RequestRecord,
  | 'tenant'
  | 'backend'
  | 'status'
  | 'energy_j'
  | 'energy_low_j'
  | 'energy_high_j'
  | 'carbon_g'
  | 'carbon_low_g'
  | 'carbon_high_g'
  | 'method'
>

/** One tenant's totals; energies in J (IT, before PUE), carbon in gCO2e. */
export interface TenantTotals {
  readonly tenant: string | null
  requests: number
  /** Requests answered with status ≥ 400. */
  failed: number
  itJ: number
  itLowJ: number
  itHighJ: number
  carbonG: number
  carbonLowG: number
  carbonHighG: number
  readonly methods: Set<Method>
  /** Idle IT energy allocated to the tenant, J, and its carbon, g. */
  idleJ: number
  idleCarbonG: number
}

/** The roll-up after allocation: rows busiest first (IT + idle J), null tenant last on a tie. */
export interface TenantAllocation {
  readonly rows: readonly Readonly<TenantTotals>[]
  /** Idle IT energy added, J. */
  readonly poolIdleJ: number
  /** Idle IT energy of backends no request used, J. */
  readonly unallocatedIdleJ: number
}

export class TenantUsage {
  readonly #tenants = new Map<string | null, TenantTotals>()
  readonly #pools = new TenantPoolUses()
  /** backend → idle energy added (IT J, carbon g). */
  readonly #idle = new Map<string, { itJ: number; carbonG: number }>()

  /** The tenant's row, created empty (a configured tenant with no traffic still has one). */
  tenant(key: string | null): TenantTotals {
    let t = this.#tenants.get(key)
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
      this.#tenants.set(key, t)
    }
    return t
  }

  /** Adds one request. */
  addRequest(r: TenantRequest): void {
    const key = r.tenant ?? null
    const t = this.tenant(key)
    t.requests += 1
    if (r.status >= 400) t.failed += 1
    t.itJ += r.energy_j
    t.itLowJ += r.energy_low_j
    t.itHighJ += r.energy_high_j
    t.carbonG += r.carbon_g
    t.carbonLowG += r.carbon_low_g
    t.carbonHighG += r.carbon_high_g
    t.methods.add(r.method)
    this.#pools.add(r.backend, key, r.energy_j)
  }

  /** Adds idle energy of `backend` (IT J and its carbon, g) to be shared among its tenants. */
  addIdle(backend: string, itJ: number, carbonG: number): void {
    const i = this.#idle.get(backend) ?? { itJ: 0, carbonG: 0 }
    i.itJ += itJ
    i.carbonG += carbonG
    this.#idle.set(backend, i)
  }

  /** Allocates the idle energy added by `rule` (call once, after every row went in). */
  allocate(rule: IdleAllocationRule): TenantAllocation {
    let unallocatedIdleJ = 0
    let poolIdleJ = 0
    for (const [backend, idle] of this.#idle) {
      poolIdleJ += idle.itJ
      const shares = this.#pools.allocate(backend, idle.itJ, rule)
      if (shares.length === 0) {
        unallocatedIdleJ += idle.itJ
        continue
      }
      for (const s of shares) {
        const t = this.#tenants.get(s.tenant)
        if (t === undefined) continue
        t.idleJ += s.idleJ
        t.idleCarbonG += idle.itJ > 0 ? (idle.carbonG * s.idleJ) / idle.itJ : 0
      }
    }
    const rows = [...this.#tenants.values()].sort(
      (a, b) =>
        b.itJ + b.idleJ - (a.itJ + a.idleJ) ||
        (a.tenant ?? '\uffff').localeCompare(b.tenant ?? '\uffff'),
    )
    return { rows, poolIdleJ, unallocatedIdleJ }
  }
}

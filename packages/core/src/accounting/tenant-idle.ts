/**
 * @module accounting/tenant-idle
 * Shares a shared pool's idle energy among its tenants by a stated rule. The pool is one backend
 * (its idle energy in the period); the default rule is proportional to each tenant's active IT
 * energy on it, so a tenant that keeps the pool busy carries the overhead of keeping it powered.
 * The shares always sum to the idle energy given whenever some tenant used the pool (energy is
 * conserved); with no tenant activity nothing is allocated and the caller reports it unallocated.
 */

/** How idle energy is shared: by active IT energy (default), equally, or by request count. */
export const IDLE_ALLOCATION_RULES = ['proportional', 'equal', 'requests'] as const
export type IdleAllocationRule = (typeof IDLE_ALLOCATION_RULES)[number]

export const DEFAULT_IDLE_ALLOCATION: IdleAllocationRule = 'proportional'

/** One sentence per rule, printed beside the figures it produced. */
export const IDLE_ALLOCATION_BASIS: Readonly<Record<IdleAllocationRule, string>> = {
  proportional:
    "each backend's idle energy in the period is shared among the tenants that used it in proportion to their active IT energy on it",
  equal:
    "each backend's idle energy in the period is shared equally among the tenants that sent it at least one request",
  requests:
    "each backend's idle energy in the period is shared among the tenants that used it in proportion to their request counts on it",
}

/** A tenant's use of one pool in the period. */
export interface TenantPoolUse {
  readonly tenant: string | null
  /** Active IT energy of its requests on the pool, J. */
  readonly activeJ: number
  readonly requests: number
}

/**
 * Each tenant's share of `idleJ` under `rule` (same order as `uses`). Returns all zeros when no
 * tenant used the pool (the weights sum to 0), so the caller can report the idle energy as
 * unallocated. `proportional` falls back to request counts when every active energy is 0.
 */
export function allocateIdle(
  idleJ: number,
  uses: readonly TenantPoolUse[],
  rule: IdleAllocationRule,
): number[] {
  const weightOf = (u: TenantPoolUse): number =>
    rule === 'equal' ? (u.requests > 0 ? 1 : 0) : rule === 'requests' ? u.requests : u.activeJ
  let weights = uses.map(weightOf)
  let total = weights.reduce((s, w) => s + w, 0)
  if (total <= 0 && rule === 'proportional') {
    weights = uses.map((u) => u.requests)
    total = weights.reduce((s, w) => s + w, 0)
  }
  if (total <= 0 || !(idleJ > 0)) return uses.map(() => 0)
  // idleJ × (w / total), not (idleJ × w) / total: with tiny weights the product underflows to 0.
  return weights.map((w) => idleJ * (w / total))
}

/**
 * Tenants' use of each shared pool (backend), gathered request by request, and each tenant's share
 * of a pool's idle energy under a rule: the one place the dashboard API and the report build the
 * `uses` that {@link allocateIdle} shares by.
 */
export class TenantPoolUses {
  /** backend → tenant → its use of that backend. */
  readonly #pools = new Map<string, Map<string | null, { activeJ: number; requests: number }>>()

  /** Adds one request of `tenant` on `backend` with `activeJ` of IT energy. */
  add(backend: string, tenant: string | null, activeJ: number): void {
    let pool = this.#pools.get(backend)
    if (pool === undefined) {
      pool = new Map()
      this.#pools.set(backend, pool)
    }
    const use = pool.get(tenant)
    if (use === undefined) pool.set(tenant, { activeJ, requests: 1 })
    else {
      use.activeJ += activeJ
      use.requests += 1
    }
  }

  /** The backends some request used. */
  backends(): IterableIterator<string> {
    return this.#pools.keys()
  }

  /**
   * Each tenant's share of `idleJ` of `backend` under `rule` (tenants with a share above 0), or
   * an empty list when no tenant used it (the caller reports the energy unallocated).
   */
  allocate(
    backend: string,
    idleJ: number,
    rule: IdleAllocationRule,
  ): { readonly tenant: string | null; readonly idleJ: number }[] {
    const pool = this.#pools.get(backend)
    if (pool === undefined) return []
    const uses = [...pool].map(([tenant, u]) => ({ tenant, ...u }))
    const shares = allocateIdle(idleJ, uses, rule)
    return uses.flatMap((u, i) => {
      const share = shares[i] ?? 0
      return share > 0 ? [{ tenant: u.tenant, idleJ: share }] : []
    })
  }
}

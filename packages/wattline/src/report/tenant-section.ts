/**
 * @module report/tenant-section
 * The report's "Tenants" section, written from core's `TenantUsage` roll-up: each tenant's requests,
 * IT energy and carbon (with interval and method), its share of the scope's, and the shared-pool
 * idle energy allocated to it by the stated rule (core's `allocateIdle`: per backend, proportional
 * to active IT energy by default, or `equal`, or by `requests`). Requests without a tenant key are
 * one row with `tenant: null`. The allocated idle energy sums to the scope's idle energy, except
 * idle energy of backends no request used in the period, reported as `unallocated_idle_it_energy_wh`.
 */
import {
  DEFAULT_IDLE_ALLOCATION,
  IDLE_ALLOCATION_BASIS,
  JOULES_PER_WH,
  type IdleAllocationRule,
  type TenantUsage,
} from '@wattline/core'
import { methodOf } from './report-figures.ts'
import type { TenantSection } from './report-schema.ts'

/** The columns of the section's table, in the order every renderer writes them. */
export const TENANT_COLUMNS = [
  'Tenant',
  'Requests',
  'Energy (Wh)',
  'Interval (Wh)',
  'Carbon (gCO2e)',
  'Share of energy',
  'Idle allocated (Wh)',
  'Energy with idle (Wh)',
  'Method',
] as const

/** The section, idle energy allocated by `rule`. */
export function tenantSection(
  usage: TenantUsage,
  rule: IdleAllocationRule = DEFAULT_IDLE_ALLOCATION,
): TenantSection {
  const { rows: all, poolIdleJ, unallocatedIdleJ } = usage.allocate(rule)
  const totalJ = all.reduce((s, t) => s + t.itJ, 0)
  const totalRequests = all.reduce((s, t) => s + t.requests, 0)
  const pct = (part: number, whole: number): number => (whole > 0 ? (100 * part) / whole : 0)
  const rows = all.map((t) => ({
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
    unallocated_idle_it_energy_wh: unallocatedIdleJ / JOULES_PER_WH,
    tenants: rows,
  }
}

/**
 * @module adapters/storage/ledger-tenant-totals
 * Seeds the tenant budgets at start from the ledger: each budgeted tenant's IT energy and carbon
 * since its current period began, summed in the database (SQLite or PostgreSQL, one Kysely path),
 * so a restart does not hand a tenant a fresh budget. Rows still buffered by a replica that
 * stopped uncleanly are not in the ledger and so not counted.
 */
import { sql } from 'kysely'
import type { TenantTotals } from '../../tenant-usage/tenant-usage.ts'
import { tableOf } from './ledger-tables.ts'
import type { OpenedDatabase } from './open-database.ts'

/** Sums each `(service, tenant)`'s request rows with `at_ms ≥ fromMs`. */
export async function readTenantTotals(
  opened: OpenedDatabase,
  periods: readonly {
    readonly service: string
    readonly tenant: string
    readonly fromMs: number
  }[],
): Promise<TenantTotals[]> {
  const table = tableOf('request').table
  const out: TenantTotals[] = []
  for (const p of periods) {
    const row = await opened.db
      .selectFrom(table)
      .select([
        sql<number | string | null>`sum(energy_j)`.as('energy_j'),
        sql<number | string | null>`sum(carbon_g)`.as('carbon_g'),
      ])
      .where('service', '=', p.service)
      .where('tenant', '=', p.tenant)
      .where('at_ms', '>=', p.fromMs)
      .executeTakeFirst()
    out.push({
      service: p.service,
      tenant: p.tenant,
      energy_j: Number(row?.['energy_j'] ?? 0),
      carbon_g: Number(row?.['carbon_g'] ?? 0),
    })
  }
  return out
}

/**
 * Tenant budgets survive a restart: a new tenant usage seeded from the ledger (SQLite, and
 * PostgreSQL when PG_URL is set) starts from what the tenant already used in the current period.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hasCode } from '@wattline/core'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../config/parse-config.ts'
import { openDatabase } from '../adapters/storage/open-database.ts'
import { openLedger } from '../adapters/storage/open-ledger.ts'
import { createPgSchemas } from '../adapters/storage/pg-test-database.ts'
import { TEST_CATALOG } from '../http/harness.test-support.ts'
import { request } from '../report/report-fixture.test-support.ts'
import { readTenantTotals } from '../adapters/storage/ledger-tenant-totals.ts'
import { createTenantUsage } from './tenant-usage.ts'

const PG_URL = process.env['PG_URL']
const HOUR = 3_600_000
const NOW = Date.UTC(2026, 2, 18, 13, 30)
const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const config = (() => {
  const r = parseConfig(
    {
      services: [
        {
          name: 'chat',
          api_keys: [
            { tenant: 'acme', key_sha256: 'a'.repeat(64) },
            { tenant: 'globex', key_sha256: 'b'.repeat(64) },
          ],
          tenants: [
            { name: 'acme', budget: { period: 'hour', energy_j: 1000, mode: 'enforce' } },
            { name: 'globex', budget: { period: 'day', carbon_g: 1, mode: 'enforce' } },
          ],
        },
      ],
      backends: [
        {
          id: 'x',
          url: 'http://127.0.0.1:1/v1',
          zone: 'FR',
          hardware: 'H100-SXM',
          models: ['llama-3'],
        },
      ],
    },
    { catalog: TEST_CATALOG, env: {} },
  )
  if (!r.ok) throw new Error(JSON.stringify(r.issues))
  return r.value
})()

function suite(makeUrl: () => Promise<string>): void {
  it('seeds each budget with its own current period from the ledger', async () => {
    const url = await makeUrl()
    const dir = mkdtempSync(join(tmpdir(), 'wl-tenant-'))
    dirs.push(dir)
    const ledger = await openLedger(url, { baseDir: dir, signingKeyPath: join(dir, 'key.pem') })
    await ledger.sink.writeNow([
      // acme: 400 J this hour, 5000 J in the previous hour (another period).
      request({ id: 'a-old', at_ms: NOW - HOUR, tenant: 'acme', energy_j: 5000 }),
      request({ id: 'a1', at_ms: NOW - 10 * 60_000, tenant: 'acme', energy_j: 300 }),
      request({ id: 'a2', at_ms: NOW - 60_000, tenant: 'acme', energy_j: 700 }),
      // globex: earlier today (its period is the day) and another service's row.
      request({ id: 'g1', at_ms: NOW - 5 * HOUR, tenant: 'globex', carbon_g: 0.4 }),
      request({ id: 'g2', at_ms: NOW - 5 * HOUR, tenant: 'globex', carbon_g: 9, service: 'other' }),
    ])
    await ledger.close()

    const usage = createTenantUsage({
      services: config.services,
      registry: new Registry(),
      now: () => NOW,
    })
    const opened = await openDatabase(url, { baseDir: dir })
    try {
      usage.seed(await readTenantTotals(opened, usage.periods()))
    } finally {
      await opened.db.destroy()
    }
    const byTenant = new Map(usage.statuses().map((s) => [s.tenant, s]))
    expect(byTenant.get('acme')).toMatchObject({ energy_j: 1000, state: 'exceeded' })
    expect(byTenant.get('globex')?.carbon_g).toBeCloseTo(0.4, 12)
    expect(byTenant.get('globex')?.state).toBe('ok')
    // The seeded total refuses acme at once, as before the restart.
    let refused: unknown
    try {
      usage.admit('chat', 'acme')
    } catch (e) {
      refused = e
    }
    expect(hasCode(refused, 'WL_BUDGET_EXCEEDED')).toBe(true)
  })
}

describe('tenant totals from a SQLite ledger', () => {
  suite(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-tenant-db-'))
    dirs.push(dir)
    return `sqlite:${join(dir, 'ledger.db')}`
  })
})

if (PG_URL === undefined) console.warn('PG_URL is not set: skipping tenant totals on PostgreSQL')

describe.skipIf(PG_URL === undefined)('tenant totals from a PostgreSQL ledger', () => {
  const schemas = createPgSchemas(PG_URL ?? 'postgres://unset')
  afterAll(() => schemas.drop())
  suite(() => schemas.next())
})

/**
 * Tenant budget totals shared by replicas through a real Redis (REDIS_URL; skipped with a notice
 * when unset): two tenant usages stand for two gateway replicas.
 */
import { randomUUID } from 'node:crypto'
import { hasCode, type RequestRecord } from '@wattline/core'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../config/parse-config.ts'
import { TEST_CATALOG } from '../http/harness.test-support.ts'
import { request } from '../report/report-fixture.test-support.ts'
import { openRedisTenantTotals } from '../adapters/redis/redis-tenant-totals.ts'
import { createTenantUsage, type TenantUsage } from './tenant-usage.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined) console.warn('REDIS_URL is not set: skipping shared tenant totals')

const NOW = Date.UTC(2026, 2, 18, 13, 30)
const services = (() => {
  const r = parseConfig(
    {
      services: [
        {
          name: 'chat',
          api_keys: [{ tenant: 'acme', key_sha256: 'a'.repeat(64) }],
          tenants: [{ name: 'acme', budget: { period: 'day', energy_j: 1000, mode: 'enforce' } }],
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
  return r.value.services
})()

const replica = (): TenantUsage =>
  createTenantUsage({ services, registry: new Registry(), now: () => NOW })
const row = (id: string, energyJ: number): RequestRecord =>
  request({ id, at_ms: NOW - 1000, tenant: 'acme', energy_j: energyJ })
const refused = (u: TenantUsage): boolean => {
  try {
    u.admit('chat', 'acme')
    return false
  } catch (e) {
    return hasCode(e, 'WL_BUDGET_EXCEEDED')
  }
}

describe.skipIf(REDIS_URL === undefined)('tenant totals shared through Redis', () => {
  const stores: { close(): Promise<void> }[] = []
  afterAll(async () => {
    for (const s of stores) await s.close()
  })
  const open = (prefix: string, url = REDIS_URL ?? '') => {
    const s = openRedisTenantTotals({ url, keyPrefix: prefix, commandTimeoutMs: 500 })
    stores.push(s)
    return s
  }

  it('holds the cap for the fleet: each replica under it alone, both refuse once synced', async () => {
    const prefix = `wl-test-${randomUUID()}`
    const [a, b] = [replica(), replica()]
    const [sa, sb] = [open(prefix), open(prefix)]
    // Replica A started with 100 J already in the ledger for today (its seed).
    a.seed([{ service: 'chat', tenant: 'acme', energy_j: 100, carbon_g: 0 }])
    expect(await a.syncShared(sa)).toBe(true)
    expect(await b.syncShared(sb)).toBe(true)
    expect(b.statuses()[0]?.energy_j).toBe(100) // B learns A's seed
    a.observe(row('a1', 500))
    b.observe(row('b1', 450))
    expect(refused(a)).toBe(false) // 600 J seen by A
    expect(refused(b)).toBe(false) // 550 J seen by B
    expect(await a.syncShared(sa)).toBe(true)
    expect(await b.syncShared(sb)).toBe(true)
    expect(b.statuses()[0]?.energy_j).toBeCloseTo(1050, 9)
    expect(refused(b)).toBe(true)
    expect(await a.syncShared(sa)).toBe(true)
    expect(a.statuses()[0]?.energy_j).toBeCloseTo(1050, 9)
    expect(refused(a)).toBe(true)
    // A second sync with nothing new adds nothing.
    expect(await a.syncShared(sa)).toBe(true)
    expect(a.statuses()[0]?.energy_j).toBeCloseTo(1050, 9)
  })

  it('keeps counting alone while Redis is unreachable and delivers the deltas later', async () => {
    const prefix = `wl-test-${randomUUID()}`
    const a = replica()
    const down = open(prefix, 'redis://127.0.0.1:1')
    a.observe(row('a1', 300))
    expect(await a.syncShared(down)).toBe(false)
    expect(a.statuses()[0]?.energy_j).toBe(300)
    a.observe(row('a2', 200))
    const up = open(prefix)
    expect(await a.syncShared(up)).toBe(true)
    const b = replica()
    expect(await b.syncShared(open(prefix))).toBe(true)
    expect(b.statuses()[0]?.energy_j).toBe(500)
  })
})

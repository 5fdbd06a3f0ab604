import type { IdleEnergyRecord, LedgerRecord, TenantsBody } from '@wattline/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from '../../report/report-fixture.test-support.ts'
import { registerDashboardApi } from './dashboard-api.ts'
import { createDashboardFixture } from './dashboard-fixture.test-support.ts'
import { createMemoryLedgerReader } from './memory-ledger-reader.ts'

const END = Date.UTC(2025, 5, 16, 12)
const T0 = END - 30 * 60_000
const live = createDashboardFixture(END, 1).live

function idle(backend: string, energyJ: number): IdleEnergyRecord {
  return {
    kind: 'idle',
    backend,
    zone: 'DE',
    from_ms: T0,
    to_ms: T0 + 60_000,
    energy_j: energyJ,
    facility_energy_j: energyJ * 1.25,
    carbon_g: energyJ / 1000,
    method: 'measured',
    source: 'nvidia-smi',
  }
}

/** gpu-de: acme 900 J, globex 300 J; gpu-fr: globex 100 J; gpu-pl idle only. */
const records: LedgerRecord[] = [
  request({ id: 'a1', at_ms: T0 + 1000, tenant: 'acme', energy_j: 600, backend: 'gpu-de' }),
  request({ id: 'a2', at_ms: T0 + 2000, tenant: 'acme', energy_j: 300, backend: 'gpu-de' }),
  request({ id: 'g1', at_ms: T0 + 3000, tenant: 'globex', energy_j: 300, backend: 'gpu-de' }),
  request({ id: 'g2', at_ms: T0 + 4000, tenant: 'globex', energy_j: 100, backend: 'gpu-fr' }),
  idle('gpu-de', 1200),
  idle('gpu-fr', 400),
  idle('gpu-pl', 500),
]

let app: FastifyInstance
beforeAll(async () => {
  app = Fastify({ logger: false })
  registerDashboardApi(app, {
    ledger: createMemoryLedgerReader(records),
    live,
    budgets: { budgets: () => [] },
    now: () => END,
    registry: new Registry(),
    tenants: ['acme', 'globex', 'initech'],
  })
  await app.ready()
})
afterAll(async () => {
  await app.close()
})

async function get<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await app.inject({ method: 'GET', url })
  return { status: res.statusCode, body: res.json() }
}

describe('GET /api/tenants', () => {
  it('lists each tenant with energy, carbon, requests, shares and idle allocated proportionally', async () => {
    const { status, body } = await get<TenantsBody>('/api/tenants?span=1h')
    expect(status).toBe(200)
    expect(body.idle_allocation).toBe('proportional')
    const row = (t: string) => body.tenants.find((x) => x.tenant === t)
    expect(row('acme')).toMatchObject({ requests: 2, configured: true })
    expect(row('acme')?.it_energy_j.value).toBe(900)
    expect(row('acme')?.share_of_it_energy).toBeCloseTo(900 / 1300, 12)
    expect(row('acme')?.idle_allocated_j).toBeCloseTo(900, 9)
    expect(row('globex')?.idle_allocated_j).toBeCloseTo(300 + 400, 9)
    // A configured tenant without requests is listed with zeros.
    expect(row('initech')).toMatchObject({ requests: 0, idle_allocated_j: 0 })
    expect(body.unallocated_idle_energy_j).toBe(500)
    const allocated = body.tenants.reduce((s, t) => s + t.idle_allocated_j, 0)
    expect(allocated + body.unallocated_idle_energy_j).toBeCloseTo(body.pool_idle_energy_j, 9)
  })

  it('takes idle_allocation=equal|requests, and refuses another rule naming the parameter', async () => {
    const eq = await get<TenantsBody>('/api/tenants?span=1h&idle_allocation=equal')
    expect(eq.body.tenants.find((x) => x.tenant === 'acme')?.idle_allocated_j).toBeCloseTo(600, 9)
    const bad = await get<{ error: Record<string, string> }>('/api/tenants?idle_allocation=fair')
    expect(bad.status).toBe(400)
    expect(bad.body.error).toMatchObject({ param: 'idle_allocation', code: 'WL_INVALID_INPUT' })
  })
})

describe('tenant= on the aggregating endpoints', () => {
  it('narrows the overview to the tenant: its requests and its allocated idle energy', async () => {
    const all = await get<{ summary: Record<string, { value: number }> & { requests: number } }>(
      '/api/overview?span=1h',
    )
    const acme = await get<{ summary: Record<string, { value: number }> & { requests: number } }>(
      '/api/overview?span=1h&tenant=acme',
    )
    expect(all.body.summary.requests).toBe(4)
    expect(acme.body.summary.requests).toBe(2)
    expect(acme.body.summary['it_energy_j']?.value).toBe(900)
    expect(acme.body.summary['idle_energy_j']?.value).toBeCloseTo(900 * 1.25, 6)
  })

  it('narrows services, zones and backends too, and refuses a malformed tenant', async () => {
    const services = await get<{ services: { name: string; summary: { requests: number } }[] }>(
      '/api/services?span=1h&tenant=globex',
    )
    expect(services.body.services.find((s) => s.name === 'chat')?.summary.requests).toBe(2)
    const zones = await get<{ zones: { zone: string; requests: number }[] }>(
      '/api/zones?span=1h&tenant=acme',
    )
    expect(zones.body.zones.reduce((s, z) => s + z.requests, 0)).toBe(2)
    const backends = await get<{ backends: { id: string; requests: number }[] }>(
      '/api/backends?span=1h&tenant=nobody',
    )
    expect(backends.status).toBe(200)
    expect(backends.body.backends.reduce((s, b) => s + (b.requests ?? 0), 0)).toBe(0)
    const long = await get<{ error: Record<string, string> }>(
      `/api/overview?tenant=${'x'.repeat(201)}`,
    )
    expect(long.status).toBe(400)
    expect(long.body.error['param']).toBe('tenant')
    const twice = await get<{ error: Record<string, string> }>('/api/zones?tenant=a&tenant=b')
    expect(twice.status).toBe(400)
    expect(twice.body.error['param']).toBe('tenant')
  })
})

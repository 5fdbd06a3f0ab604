import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { WattlineError } from '@wattline/core'
import { registerDashboardApi } from './dashboard-api.ts'
import { createDashboardFixture } from './dashboard-fixture.test-support.ts'
import { createMemoryLedgerReader } from './memory-ledger-reader.ts'

const END = Date.UTC(2025, 5, 16, 12)
const fixture = createDashboardFixture(END)
const registry = new Registry()
let app: FastifyInstance

beforeAll(async () => {
  app = Fastify({ logger: false })
  registerDashboardApi(app, {
    ledger: createMemoryLedgerReader(fixture.records),
    live: fixture.live,
    budgets: { budgets: () => fixture.budgets },
    now: () => fixture.now,
    registry,
  })
  await app.ready()
})
afterAll(async () => {
  await app.close()
})

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'GET', url })
  return { status: res.statusCode, body: res.json() }
}

describe('GET /api/overview', () => {
  it('totals the window with units, intervals, methods and sources', async () => {
    const { status, body } = await get('/api/overview?span=24h')
    expect(status).toBe(200)
    const summary = body['summary'] as Record<string, Record<string, unknown> | number>
    expect(summary['requests']).toBeGreaterThan(300)
    const e = summary['energy_per_1k_requests_wh'] as Record<string, number | string>
    expect(e['method']).toBe('modelled') // frankfurt and warsaw are modelled
    expect(e['low']).toBeLessThan(e['value'] as number)
    expect(e['high']).toBeGreaterThan(e['value'] as number)
    expect(e['value']).toBeGreaterThan(50)
    expect(e['value']).toBeLessThan(500)
    expect(e['source']).toMatch(/^ledger: /)
    expect(summary['idle_share']).toBeGreaterThan(0)
    expect(summary['idle_share']).toBeLessThan(1)
    expect(summary['measured_share']).toBeGreaterThan(0.3)
    expect((body['peak_power_w'] as Record<string, unknown>)['method']).toBe('modelled')
    expect((body['peak_power_w'] as Record<string, number>)['value']).toBeGreaterThan(900)
    expect(body['window']).toMatchObject({ to_ms: END, from_ms: END - 86_400_000 })
    expect(body['budgets_breached']).toBe(1)
    expect((body['series'] as unknown[]).length).toBe(24) // hourly buckets over a day
  })

  it('credits carbon-aware routing with savings against round-robin, and none to round-robin', async () => {
    const { body } = await get('/api/overview?span=7d')
    const [routing] = body['savings'] as Record<string, number | string>[]
    expect(routing).toMatchObject({ lever: 'routing', baseline: 'round-robin', method: 'modelled' })
    expect(routing?.['carbon_g']).toBeGreaterThan(0)
    expect(routing?.['carbon_pct']).toBeGreaterThan(50)
    expect(routing?.['carbon_pct']).toBeLessThan(100)
  })

  it('answers an empty window with zero requests and null ratios, not NaN', async () => {
    const { status, body } = await get(
      '/api/overview?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z',
    )
    expect(status).toBe(200)
    const summary = body['summary'] as Record<string, unknown>
    expect(summary['requests']).toBe(0)
    expect(summary['energy_per_1k_requests_wh']).toBeNull()
    expect(JSON.stringify(body)).not.toMatch(/NaN|Infinity/)
  })

  it.each([
    ['?from=yesterday', 'from'],
    ['?from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z', 'from'],
    ['?from=2025-01-01T00:00:00Z&to=2025-06-01T00:00:00Z', 'from'],
    ['?span=3w', 'span'],
    ['?span=1h&from=2025-06-01T00:00:00Z', 'span'],
    ['?to=2025-06-01', 'to'],
  ])('rejects %s with 400 naming %s', async (query, param) => {
    const { status, body } = await get(`/api/overview${query}`)
    expect(status).toBe(400)
    expect(body['error']).toMatchObject({ code: 'WL_INVALID_INPUT', param })
  })
})

describe('GET /api/services', () => {
  it('lists each service with its totals and budget watch', async () => {
    const { body } = await get('/api/services?span=24h')
    const services = body['services'] as Record<string, unknown>[]
    expect(services.map((s) => s['name'])).toEqual(['chat', 'search'])
    expect(services[1]?.['budget']).toMatchObject({ breached: true, target: 90 })
  })

  it('gives one service its budget burn over the window and a trend', async () => {
    const { status, body } = await get('/api/services/chat?span=7d')
    expect(status).toBe(200)
    expect(body['window_burn']).toBeCloseTo((body['window_value'] as number) / 200, 10)
    expect(body['window_value']).toBeGreaterThan(0)
    expect((body['series'] as unknown[]).length).toBe(28) // 6-hour buckets over a week
  })

  it('answers 404 for a service it has never seen', async () => {
    const { status, body } = await get('/api/services/nope')
    expect(status).toBe(404)
    expect(body['error']).toMatchObject({ code: 'WL_NOT_FOUND', param: 'name' })
  })
})

describe('GET /api/zones and /api/backends', () => {
  it('gives each zone its current intensity, traffic share and carbon', async () => {
    const { body } = await get('/api/zones?span=24h')
    const zones = body['zones'] as Record<string, unknown>[]
    expect(zones.map((z) => z['zone'])).toEqual(['DE', 'FR', 'PL'])
    const shares = zones.reduce((t, z) => t + (z['share_of_requests'] as number), 0)
    expect(shares).toBeCloseTo(1, 10)
    const fr = zones.find((z) => z['zone'] === 'FR')
    expect(fr?.['share_of_requests']).toBeGreaterThan(0.5)
    expect(fr?.['current']).toMatchObject({ signal: 'average', source: 'static:fixture' })
    const pl = zones.find((z) => z['zone'] === 'PL')
    expect(pl?.['mean_intensity_g_per_kwh']).toBeGreaterThan(600)
  })

  it('gives each backend occupancy, J per token and measured vs modelled energy', async () => {
    const { body } = await get('/api/backends?span=24h')
    const rows = body['backends'] as Record<string, unknown>[]
    const paris = rows.find((b) => b['id'] === 'paris')
    expect(paris).toMatchObject({ occupancy: 21 / 32, measured_share: 1, healthy: true })
    expect(paris?.['energy_per_output_token_j']).toBeGreaterThan(1.4)
    expect(paris?.['energy_per_output_token_j']).toBeLessThan(1.8)
    const warsaw = rows.find((b) => b['id'] === 'warsaw')
    expect(warsaw).toMatchObject({ measured_share: 0, healthy: false })
  })
})

describe('GET /api/decisions', () => {
  it('returns recent decisions newest first with every candidate’s predicted figures', async () => {
    const { body } = await get('/api/decisions?limit=5')
    const decisions = body['decisions'] as Record<string, unknown>[]
    expect(decisions).toHaveLength(5)
    const times = decisions.map((d) => d['at_ms'] as number)
    expect(times).toEqual([...times].sort((a, b) => b - a))
    const scores = decisions[0]?.['scores'] as Record<string, unknown>[]
    expect(Object.keys(scores[0] ?? {})).toEqual(
      expect.arrayContaining(['predicted_carbon_g', 'predicted_energy_j', 'predicted_latency_ms']),
    )
  })

  it('rejects a limit outside 1–500', async () => {
    for (const limit of ['0', '501', '2.5', 'x']) {
      expect((await get(`/api/decisions?limit=${limit}`)).status).toBe(400)
    }
  })
})

describe('GET /api/anomalies', () => {
  it('flags the injected power fault and energy spike, and counts each once in the metric', async () => {
    const { body } = await get('/api/anomalies?span=24h')
    const found = (body['anomalies'] as Record<string, unknown>[]).map((a) => [
      a['kind'],
      a['subject'],
      a['at_ms'],
    ])
    expect(found).toEqual([
      ['energy_per_request', 'chat', fixture.injected.energySpikeAt],
      ['backend_power', 'warsaw', fixture.injected.powerFaultAt],
    ])
    await get('/api/anomalies?span=6h')
    const metric = await registry.getSingleMetricAsString('wattline_anomalies_total')
    expect(metric).toContain('wattline_anomalies_total{kind="energy_per_request"} 1')
    expect(metric).toContain('wattline_anomalies_total{kind="backend_power"} 1')
  })
})

describe('GET /api/budgets and /api', () => {
  it('lists budgets and which services are in breach', async () => {
    const { body } = await get('/api/budgets')
    expect(body['breached']).toEqual(['search'])
  })

  it('indexes its routes and never lets a cache keep them', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/overview' })
    expect(res.headers['cache-control']).toBe('no-store')
    expect((await get('/api'))['body']['routes']).toContain('/api/anomalies')
  })
})

describe('GET /api/decisions without live decisions', () => {
  it('reads the latest decisions back from the ledger’s request rows', async () => {
    const bare = Fastify({ logger: false })
    registerDashboardApi(bare, {
      ledger: createMemoryLedgerReader(fixture.records),
      live: { ...fixture.live, recentDecisions: () => [] },
      budgets: { budgets: () => [] },
      now: () => fixture.now,
      registry: new Registry(),
    })
    const res = await bare.inject({ method: 'GET', url: '/api/decisions?limit=3' })
    const decisions = res.json().decisions as Record<string, unknown>[]
    expect(decisions).toHaveLength(3)
    expect(decisions[0]).toMatchObject({ origin: 'ledger', kind: 'route' })
    expect((decisions[0]?.['scores'] as unknown[]).length).toBe(3)
    await bare.close()
  })
})

describe('a ledger that refuses a window', () => {
  it('answers 400 naming the parameter instead of 500', async () => {
    const refuse = (): Promise<never> =>
      Promise.reject(
        new WattlineError('WL_INVALID_INPUT', 'the window holds more than 10 request rows', {
          details: { param: 'from' },
        }),
      )
    const bare = Fastify({ logger: false })
    registerDashboardApi(bare, {
      ledger: { requests: refuse, idleEnergy: refuse, powerSamples: refuse },
      live: fixture.live,
      budgets: { budgets: () => [] },
      now: () => fixture.now,
      registry: new Registry(),
    })
    const res = await bare.inject({ method: 'GET', url: '/api/overview?span=30d' })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toMatchObject({ code: 'WL_INVALID_INPUT', param: 'from' })
    await bare.close()
  })
})

/**
 * The dashboard API and the transparency report read the same ledger through core's accounting
 * (facility energy, idle proration and sharing by request IT energy, zone roll-up, time buckets,
 * peak power, tenant allocation): on the same rows they must state the same figures. The ledger
 * below has a backend whose PUE changes within the window, so a rule that shared idle energy by
 * facility energy in one place and by IT energy in the other would disagree; idle intervals that
 * straddle both edges of the window, so a reader that took only those starting in it, or did not
 * prorate them, would disagree; and a zone whose idle energy ran at another intensity than its
 * requests, so a mean intensity over requests only would disagree.
 */
import {
  encodeLeverSavings,
  IDLE_ALLOCATION_RULES,
  JOULES_PER_WH,
  type IdleEnergyRecord,
  type PowerSampleRecord,
  type RequestRecord,
} from '@wattline/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildReport } from '../../report/build-report.ts'
import { createMemoryReportSource } from '../../report/memory-report-source.ts'
import { FROM_MS, GENERATED_MS, request, TO_MS } from '../../report/report-fixture.test-support.ts'
import { registerDashboardApi } from './dashboard-api.ts'
import { createMemoryLedgerReader } from './memory-ledger-reader.ts'
import { tenantsBody } from './tenant-scope.ts'
import { overviewBody, serviceDetailBody, windowFacts } from './views.ts'

const MIN = 60_000

const requests: RequestRecord[] = [
  request({
    id: 'a',
    at_ms: FROM_MS + 5 * MIN,
    energy_j: 600,
    tenant: 'acme',
    pue: 1.1,
    levers: encodeLeverSavings([
      {
        lever: 'cache',
        energy_saved_j: 360,
        energy_saved_low_j: 300,
        energy_saved_high_j: 400,
        carbon_saved_g: 0.05,
        basis: 'estimated-counterfactual',
      },
    ]) as string,
  }),
  request({ id: 'b', at_ms: FROM_MS + 6 * MIN, energy_j: 300, tenant: 'acme', pue: 1.5 }),
  request({
    id: 'c',
    at_ms: FROM_MS + 7 * MIN,
    energy_j: 900,
    service: 'search',
    tenant: 'globex',
    pue: 1.1,
  }),
  request({
    id: 'd',
    at_ms: FROM_MS + 50 * MIN,
    energy_j: 1800,
    backend: 'gpu-fr',
    zone: 'FR',
    pue: 1.2,
    intensity_g_per_kwh: 50,
    method: 'modelled',
    status: 503,
  }),
  request({ id: 'e', at_ms: FROM_MS + 70 * MIN, energy_j: 450, service: 'search', pue: 1.6 }),
]

const idleRow = (backend: string, zone: string, fromMin: number, energyJ: number) =>
  ({
    kind: 'idle',
    backend,
    zone,
    from_ms: FROM_MS + fromMin * MIN,
    to_ms: FROM_MS + (fromMin + 20) * MIN, // 20 minutes each
    energy_j: energyJ,
    facility_energy_j: energyJ * 1.25,
    carbon_g: (energyJ * 1.25 * 400) / 3_600_000,
    method: 'measured',
    source: 'nvidia-smi',
  }) satisfies IdleEnergyRecord

// Idle intervals inside the window, and three across its edges: both read them whole and count
// the part inside (gpu-de's from −10 min: half; gpu-us's from −15 min: a quarter, and its last,
// from 5 min before the end: a quarter). All idle is at 400 g/kWh; gpu-fr's requests at 50.
const idle: IdleEnergyRecord[] = [
  idleRow('gpu-de', 'DE', -10, 1000),
  idleRow('gpu-us', 'US-CAL-CISO', -15, 800),
  idleRow('gpu-de', 'DE', 10, 2400),
  idleRow('gpu-us', 'US-CAL-CISO', 30, 500),
  idleRow('gpu-fr', 'FR', 60, 1200),
  idleRow('gpu-us', 'US-CAL-CISO', 115, 400),
  idleRow('gpu-us', 'US-CAL-CISO', 120, 9999), // starts at the window's end: outside
]

const power: PowerSampleRecord[] = [
  {
    kind: 'power',
    backend: 'gpu-de',
    at_ms: FROM_MS + 5 * MIN,
    power_w: 300,
    method: 'measured',
    source: 'nvidia-smi',
  },
  {
    kind: 'power',
    backend: 'gpu-de',
    at_ms: FROM_MS + 5 * MIN + 30_000,
    power_w: 500,
    method: 'measured',
    source: 'nvidia-smi',
  },
  {
    kind: 'power',
    backend: 'gpu-fr',
    at_ms: FROM_MS + 5 * MIN + 10_000,
    power_w: 250,
    method: 'measured',
    source: 'nvidia-smi',
  },
  {
    kind: 'power',
    backend: 'gpu-fr',
    at_ms: FROM_MS + 50 * MIN,
    power_w: 620,
    method: 'measured',
    source: 'nvidia-smi',
  },
]

const facts = windowFacts({ from_ms: FROM_MS, to_ms: TO_MS }, requests, idle, power)
const report = (service: string | null, idleAllocation?: (typeof IDLE_ALLOCATION_RULES)[number]) =>
  buildReport(
    createMemoryReportSource({ requests, idle, power }),
    { fromMs: FROM_MS, toMs: TO_MS, service },
    { generatedAtMs: GENERATED_MS, ...(idleAllocation === undefined ? {} : { idleAllocation }) },
  )

// The same ledger through the dashboard API as served: the in-memory reader, the routes.
let app: FastifyInstance
beforeAll(async () => {
  app = Fastify({ logger: false })
  registerDashboardApi(app, {
    ledger: createMemoryLedgerReader([...requests, ...idle, ...power]),
    live: { backends: () => [], zones: () => [], recentDecisions: () => [] },
    budgets: { budgets: () => [] },
    now: () => TO_MS,
    registry: new Registry(),
  })
  await app.ready()
})
afterAll(async () => {
  await app.close()
})
const WINDOW = `from=${new Date(FROM_MS).toISOString()}&to=${new Date(TO_MS).toISOString()}`
async function api<T>(path: string): Promise<T> {
  const res = await app.inject({ method: 'GET', url: `${path}?${WINDOW}` })
  expect(res.statusCode).toBe(200)
  return res.json<T>()
}

interface Row {
  [k: string]: number | string | null
}

describe('dashboard API and report on the same ledger', () => {
  it('state the same fleet totals, per-1k figures and peak power', async () => {
    const r = await report(null)
    const o = overviewBody(facts, [], [])
    expect(o.summary.requests).toBe(r.totals.requests)
    expect(o.summary.output_tokens).toBe(r.totals.output_tokens)
    expect(o.summary.facility_energy_j.value / JOULES_PER_WH).toBeCloseTo(
      r.totals.facility_energy_wh.value,
      9,
    )
    expect(o.summary.carbon_g.value).toBeCloseTo(r.totals.carbon_g.value, 9)
    expect(o.summary.energy_per_1k_requests_wh?.value).toBeCloseTo(
      r.energy_per_1k_requests_wh?.value ?? NaN,
      9,
    )
    expect(o.summary.carbon_per_1k_requests_g?.value).toBeCloseTo(
      r.carbon_per_1k_requests_g?.value ?? NaN,
      9,
    )
    // gpu-fr alone draws 620 W in minute 50 (the 05 minute has 400 + 250 W).
    expect(r.peak_power_w.value).toBe(650)
    expect(o.peak_power_w.value).toBe(r.peak_power_w.value)
    expect(o.peak_power_w.at_ms).toBe(Date.parse(r.peak_power_w.at ?? ''))
  })

  it('charge each service the same share of idle energy', async () => {
    for (const service of ['chat', 'search']) {
      const r = await report(service)
      const s = serviceDetailBody(facts, [], service)
      expect(s?.summary.requests).toBe(r.totals.requests)
      // Idle: the report gives IT energy, the dashboard facility energy (× 1.25 on these rows).
      expect((s?.summary.idle_energy_j.value ?? NaN) / 1.25 / JOULES_PER_WH).toBeCloseTo(
        r.totals.idle_it_energy_wh.value,
        9,
      )
      expect((s?.summary.facility_energy_j.value ?? NaN) / JOULES_PER_WH).toBeCloseTo(
        r.totals.facility_energy_wh.value,
        9,
      )
      expect(s?.summary.carbon_g.value).toBeCloseTo(r.totals.carbon_g.value, 9)
    }
    // chat ran 900 of gpu-de's 2,250 J of requests (40 %; by facility energy it would be 1,110 of
    // 2,820 J, 39.4 %) and all of gpu-fr's: 0.4 × (2,400 + half of 1,000) + 1,200 J of idle.
    expect((await report('chat')).totals.idle_it_energy_wh.value).toBeCloseTo(
      (0.4 * (2400 + 500) + 1200) / 3600,
      9,
    )
  })

  it('read idle intervals across the window edges and count only their part inside', async () => {
    const r = await report(null)
    const o = await api<{ summary: { idle_energy_j: Row; facility_energy_j: Row } }>(
      '/api/overview',
    )
    // IT idle inside: 500 + 200 + 2,400 + 500 + 1,200 + 100 J; facility × 1.25.
    const idleItJ = 500 + 200 + 2400 + 500 + 1200 + 100
    expect(r.totals.idle_it_energy_wh.value).toBeCloseTo(idleItJ / JOULES_PER_WH, 9)
    expect(o.summary.idle_energy_j['value']).toBeCloseTo(idleItJ * 1.25, 6)
    expect((o.summary.facility_energy_j['value'] as number) / JOULES_PER_WH).toBeCloseTo(
      r.totals.facility_energy_wh.value,
      9,
    )
    const b = await api<{ backends: Row[] }>('/api/backends')
    for (const row of r.by_backend) {
      const mine = b.backends.find((x) => x['id'] === row.backend)
      expect((mine?.['idle_energy_j'] as number) / JOULES_PER_WH).toBeCloseTo(row.idle_energy_wh, 9)
    }
    // gpu-us served no request: listed for its idle energy, in both
    expect(b.backends.map((x) => x['id'])).toEqual(r.by_backend.map((x) => x.backend))
    expect(r.by_backend.find((x) => x.backend === 'gpu-us')?.idle_energy_wh).toBeCloseTo(
      (500 + 200 + 100) / JOULES_PER_WH,
      9,
    )
  })

  it('state the same figures per zone, idle included in the mean intensity', async () => {
    const r = await report(null)
    const z = await api<{ zones: Row[] }>('/api/zones')
    expect(z.zones.map((x) => x['zone'])).toEqual(r.carbon_by_zone.map((x) => x.zone).sort())
    for (const row of r.carbon_by_zone) {
      const d = z.zones.find((x) => x['zone'] === row.zone) as Row
      expect(d['requests']).toBe(row.requests)
      expect((d['facility_energy_j'] as number) / JOULES_PER_WH).toBeCloseTo(
        row.facility_energy_wh,
        9,
      )
      expect(d['carbon_g']).toBeCloseTo(row.carbon_g.value, 9)
      expect((d['share_of_carbon'] as number) * 100).toBeCloseTo(row.share_of_carbon_pct, 6)
      expect(d['mean_intensity_g_per_kwh']).toBeCloseTo(row.mean_intensity_g_per_kwh, 6)
    }
    const intensity = (zone: string): unknown =>
      z.zones.find((x) => x['zone'] === zone)?.['mean_intensity_g_per_kwh']
    // FR: request d's 2,160 J at 50 g/kWh and gpu-fr's 1,500 J of idle at 400 (requests only: 50).
    expect(intensity('FR')).toBeCloseTo((2160 * 50 + 1500 * 400) / (2160 + 1500), 9)
    // US-CAL-CISO ran idle only (requests only: no intensity at all).
    expect(intensity('US-CAL-CISO')).toBeCloseTo(400, 9)
  })

  it('state the same usage series, idle spread over the buckets it spans', async () => {
    for (const service of [null, 'chat']) {
      const r = (await report(service)).over_time
      const d = await api<{ bucket_ms: number; series: Row[] }>(
        service === null ? '/api/overview' : `/api/services/${service}`,
      )
      expect(d.bucket_ms).toBe(r.bucket_s * 1000)
      expect(d.series.map((b) => b['at_ms'])).toEqual(r.buckets.map((b) => Date.parse(b.from)))
      d.series.forEach((b, k) => {
        const rb = r.buckets[k]
        expect(b['requests']).toBe(rb?.requests)
        expect((b['facility_energy_j'] as number) / JOULES_PER_WH).toBeCloseTo(
          rb?.facility_energy_wh ?? NaN,
          9,
        )
        expect(b['carbon_g']).toBeCloseTo(rb?.carbon_g ?? NaN, 12)
      })
    }
    const { series } = await api<{ series: Row[] }>('/api/overview')
    const facility = series.map((b) => b['facility_energy_j'] as number)
    // 5-minute buckets. 00:00: a quarter of gpu-us's 1,000 J (facility) from −15 min, and half of
    // gpu-de's 1,250 J from −10 min spread over 00:00–00:10; no request yet.
    expect(facility[0]).toBeCloseTo(250 + 312.5, 9)
    // 00:10–00:30: gpu-de's 3,000 J spread over four buckets (not all in the first).
    expect(facility.slice(2, 6)).toEqual([750, 750, 750, 750].map((x) => expect.closeTo(x, 9)))
    // 01:55: gpu-us's last interval, a quarter of 500 J.
    expect(facility.at(-1)).toBeCloseTo(125, 9)
  })

  it('allocate the same idle energy to each tenant under every rule', async () => {
    for (const rule of IDLE_ALLOCATION_RULES) {
      const r = (await report(null, rule)).tenants
      const d = tenantsBody(facts, rule, new Set())
      expect(d.tenants.map((t) => t.tenant)).toEqual(r.tenants.map((t) => t.tenant))
      expect(d.pool_idle_energy_j / JOULES_PER_WH).toBeCloseTo(r.pool_idle_it_energy_wh, 9)
      expect(d.unallocated_idle_energy_j / JOULES_PER_WH).toBeCloseTo(
        r.unallocated_idle_it_energy_wh,
        9,
      )
      d.tenants.forEach((t, k) => {
        const row = r.tenants[k]
        expect(t.idle_allocated_j / JOULES_PER_WH).toBeCloseTo(
          row?.idle_allocated_it_energy_wh ?? NaN,
          9,
        )
        expect(t.idle_allocated_carbon_g).toBeCloseTo(row?.idle_allocated_carbon_g ?? NaN, 12)
        expect(t.it_energy_j.value / JOULES_PER_WH).toBeCloseTo(row?.it_energy_wh.value ?? NaN, 9)
      })
    }
  })

  it('count the same lever savings', async () => {
    const r = (await report(null)).savings_by_lever
    const d = overviewBody(facts, [], []).savings.filter((s) => s.lever !== 'routing')
    expect(d.map((s) => s.lever)).toEqual(r.levers.map((l) => l.lever))
    expect(d[0]?.energy_j).toBe(360)
    expect((d[0]?.energy_j ?? NaN) / JOULES_PER_WH).toBeCloseTo(
      r.levers[0]?.energy_saved_wh.value ?? NaN,
      9,
    )
    expect(d[0]?.carbon_g).toBeCloseTo(r.levers[0]?.carbon_saved_g ?? NaN, 9)
  })
})

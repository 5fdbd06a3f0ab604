/**
 * The dashboard API and the transparency report read the same ledger through core's accounting
 * (facility energy, idle sharing by request IT energy, peak power, tenant allocation): on the same
 * rows they must state the same figures. The ledger below has a backend whose PUE changes within the
 * window, so a rule that shared idle energy by facility energy in one place and by IT energy in the
 * other would disagree.
 */
import {
  encodeLeverSavings,
  IDLE_ALLOCATION_RULES,
  JOULES_PER_WH,
  type IdleEnergyRecord,
  type PowerSampleRecord,
  type RequestRecord,
} from '@wattline/core'
import { describe, expect, it } from 'vitest'
import { buildReport } from '../../report/build-report.ts'
import { createMemoryReportSource } from '../../report/memory-report-source.ts'
import { FROM_MS, GENERATED_MS, request, TO_MS } from '../../report/report-fixture.test-support.ts'
import { tenantsBody } from './tenant-scope.ts'
import { overviewBody, serviceDetailBody, type WindowFacts } from './views.ts'

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
    to_ms: FROM_MS + (fromMin + 20) * MIN,
    energy_j: energyJ,
    facility_energy_j: energyJ * 1.25,
    carbon_g: (energyJ * 1.25 * 400) / 3_600_000,
    method: 'measured',
    source: 'nvidia-smi',
  }) satisfies IdleEnergyRecord

// Idle intervals inside the window (the dashboard reads those that start in it; the report
// prorates those that overlap it: the two agree on intervals inside it).
const idle: IdleEnergyRecord[] = [
  idleRow('gpu-de', 'DE', 10, 2400),
  idleRow('gpu-fr', 'FR', 60, 1200),
  idleRow('gpu-us', 'US-CAL-CISO', 30, 500),
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

const facts: WindowFacts = { window: { from_ms: FROM_MS, to_ms: TO_MS }, requests, idle, power }
const report = (service: string | null, idleAllocation?: (typeof IDLE_ALLOCATION_RULES)[number]) =>
  buildReport(
    createMemoryReportSource({ requests, idle, power }),
    { fromMs: FROM_MS, toMs: TO_MS, service },
    { generatedAtMs: GENERATED_MS, ...(idleAllocation === undefined ? {} : { idleAllocation }) },
  )

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
    // 2,820 J, 39.4 %) and all of gpu-fr's: 0.4 × 2,400 + 1,200 J of idle.
    expect((await report('chat')).totals.idle_it_energy_wh.value).toBeCloseTo(
      (0.4 * 2400 + 1200) / 3600,
      9,
    )
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

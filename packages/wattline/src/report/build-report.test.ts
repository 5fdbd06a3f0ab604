import { describe, expect, it } from 'vitest'
import { encodeLeverSavings, networkEnergyJ, trendCoefficient } from '@wattline/core'
import { renderHtml } from './render-html.ts'
import { renderMarkdown } from './render-markdown.ts'
import { MS_PER_YEAR } from '@wattline/core'
import { amortise } from './lifecycle-section.ts'
import { buildReport } from './build-report.ts'
import { regionOfZone } from './report-figures.ts'
import { createMemoryReportSource } from './memory-report-source.ts'
import {
  CHAIN_HASH,
  FROM_MS,
  fixtureData,
  GENERATED_MS,
  request,
  TO_MS,
} from './report-fixture.test-support.ts'
import { reportSchema } from './report-schema.ts'

const build = (service: string | null = null) =>
  buildReport(
    createMemoryReportSource(fixtureData()),
    { fromMs: FROM_MS, toMs: TO_MS, service },
    // The fixture has a handful of requests per hour: judge every hour.
    { generatedAtMs: GENERATED_MS, generator: 'wattline test', anomalyMinRequestsPerHour: 1 },
  )

/** M of the fixture's rack over two hours: 8 × 150 kg × 2 h / (4 × 8766 h) × 0.5. */
const M_FLEET = (8 * 150_000 * 2 * 0.5) / (4 * 8766)

describe('buildReport over the whole fleet', () => {
  it('counts requests, tokens and energy with intervals and methods', async () => {
    const r = await build()
    expect(r.totals.requests).toBe(5)
    expect(r.totals.failed_requests).toBe(1)
    expect(r.totals.output_tokens).toBe(1100)
    // IT: requests 6840 J + idle (720 J + half of 3600 J) = 9360 J = 2.6 Wh.
    expect(r.totals.it_energy_wh).toEqual({ value: 2.6, low: 2.41, high: 2.79, method: 'mixed' })
    expect(r.totals.idle_it_energy_wh.value).toBe(0.7)
    expect(r.totals.facility_energy_wh.value).toBe(3.35)
    expect(r.totals.idle_share_pct).toBeCloseTo((2520 / 9360) * 100, 9)
    expect(r.totals.carbon_g.value).toBe(0.73)
  })

  it('states energy per 1,000 requests with PUE and idle overhead, and the IT-only figure', async () => {
    const r = await build()
    expect(r.energy_per_1k_requests_wh?.value).toBe(670)
    expect(r.it_energy_per_1k_requests_wh?.value).toBe(520)
    expect(r.carbon_per_1k_requests_g?.value).toBe(146)
    expect(r.energy_per_1k_output_tokens_wh?.value).toBeCloseTo((3.35 / 1100) * 1000, 9)
    expect(r.pue.energy_weighted).toBeCloseTo(12060 / 9360, 9)
    expect(r.pue.min).toBe(1.1)
    expect(r.pue.max).toBe(1.5)
  })

  it('breaks carbon down by zone and by region, largest first', async () => {
    const r = await build()
    expect(r.carbon_by_zone.map((z) => [z.zone, z.carbon_g.value, z.requests])).toEqual([
      ['US-CAL-CISO', 0.375, 1],
      ['DE', 0.3, 3],
      ['FR', 0.055, 1],
    ])
    const de = r.carbon_by_zone.find((z) => z.zone === 'DE')
    expect(de?.facility_energy_wh).toBe(0.75)
    expect(de?.idle_facility_energy_wh).toBe(0.25)
    expect(de?.mean_intensity_g_per_kwh).toBe(400)
    expect(de?.share_of_requests_pct).toBe(60)
    expect(r.carbon_by_zone[0]?.signals).toEqual(['marginal'])
    expect(r.carbon_by_region.map((g) => g.region)).toEqual(['US', 'DE', 'FR'])
  })

  it('takes the peak from one-minute power totals across backends', async () => {
    const r = await build()
    // gpu-de mean 400 W + gpu-fr 200 W in the 00:05 minute.
    expect(r.peak_power_w).toEqual({
      value: 600,
      at: '2024-03-01T00:05:00.000Z',
      method: 'mixed',
      basis: 'power-samples',
      interval_s: 60,
    })
    expect(r.by_backend.find((b) => b.backend === 'gpu-us')?.peak_power_w).toBe(550)
  })

  it('computes SCI = (E·I + M) / R per request and per 1k output tokens', async () => {
    const r = await build()
    expect(r.sci.e_kwh.value).toBeCloseTo(0.00335, 12)
    expect(r.sci.operational_g.value).toBe(0.73)
    expect(r.sci.embodied_g).toBeCloseTo(M_FLEET, 9)
    expect(r.sci.total_g.value).toBeCloseTo(0.73 + M_FLEET, 9)
    expect(r.sci.per_request.r).toBe(5)
    expect(r.sci.per_request.sci_g?.value).toBeCloseTo((0.73 + M_FLEET) / 5, 9)
    expect(r.sci.per_1k_output_tokens.r).toBe(1.1)
    expect(r.sci.per_1k_output_tokens.sci_g?.value).toBeCloseTo((0.73 + M_FLEET) / 1.1, 9)
    expect(r.sci.i_g_per_kwh).toBeCloseTo(0.73 / 0.00335, 6)
  })

  it('reports methodology: measured share, signals, sources and stale values', async () => {
    const r = await build()
    // measured: 360 + 720 + 360 (requests) + 720 (idle) of 9360 J.
    expect(r.methodology.energy.measured_share_pct).toBeCloseTo((2160 / 9360) * 100, 9)
    expect(r.methodology.energy.measured_requests).toBe(3)
    expect(r.methodology.energy.modelled_requests).toBe(2)
    expect(r.methodology.intensity.signals).toEqual([
      { signal: 'average', requests: 4, share_pct: 80 },
      { signal: 'marginal', requests: 1, share_pct: 20 },
    ])
    expect(r.methodology.intensity.stale_requests).toBe(1)
    expect(r.methodology.intensity.sources.map((s) => [s.source, s.forecast_values])).toEqual([
      ['electricitymaps-csv:DE', 0],
      ['electricitymaps-csv:FR', 0],
      ['watttime:CAISO_NORTH', 1],
    ])
  })

  it('holds budgets against the period and lists gate decisions taken in it', async () => {
    const r = await build()
    expect(r.budgets.map((b) => [b.service, b.actual_in_period, b.status])).toEqual([
      ['chat', 450, 'within'],
      ['search', 50, 'over'],
    ])
    expect(r.gate_decisions).toHaveLength(1)
    expect(r.gate_decisions[0]).toMatchObject({ release: 'v42', verdict: 'pass', upper: 480 })
  })

  it('lists lifecycle inputs, flags anomalies, and records the chain head', async () => {
    const r = await build()
    expect(r.lifecycle.training_runs).toHaveLength(1)
    expect(r.lifecycle.training_energy_kwh).toBe(100)
    expect(r.lifecycle.training_carbon_kg).toBe(40)
    expect(r.lifecycle.training_runs[0]?.overlaps_period).toBe(false)
    expect(r.lifecycle.hardware[0]?.time_in_period_h).toBe(2)
    expect(r.lifecycle.embodied_amortised_g).toBeCloseTo(M_FLEET, 9)
    expect(r.anomalies.items).toHaveLength(1)
    expect(r.anomalies.items[0]).toMatchObject({
      at: '2024-03-01T00:00:00.000Z',
      kind: 'energy_per_request',
      subject: 'chat',
      value: 540,
      expected: 360,
      direction: 'high',
    })
    expect(r.chain_head).toMatchObject({ hash: CHAIN_HASH, height: 12 })
  })

  it('skips thin hours by default, as the dashboard does', async () => {
    const r = await buildReport(
      createMemoryReportSource(fixtureData()),
      { fromMs: FROM_MS, toMs: TO_MS, service: null },
      { generatedAtMs: GENERATED_MS },
    )
    expect(r.anomalies.items).toEqual([])
    expect(r.anomalies.detector).toContain('< 10 requests skipped')
  })

  it('fills every time bucket and conserves energy across them', async () => {
    const r = await build()
    expect(r.over_time.bucket_s).toBe(300)
    expect(r.over_time.buckets).toHaveLength(24)
    const sum = r.over_time.buckets.reduce((s, b) => s + b.it_energy_wh, 0)
    expect(sum).toBeCloseTo(2.6, 9)
    const carbon = r.over_time.buckets.reduce((s, b) => s + b.carbon_g, 0)
    expect(carbon).toBeCloseTo(0.73, 9)
  })

  it('produces a report the schema accepts', async () => {
    expect(() => reportSchema.parse(build)).toThrow()
    expect(reportSchema.safeParse(await build()).success).toBe(true)
    expect(reportSchema.safeParse(await build('chat')).success).toBe(true)
  })
})

describe('buildReport for one service', () => {
  it('charges idle energy by the service’s share of each backend', async () => {
    const r = await build('chat')
    expect(r.scope.services).toEqual(['chat'])
    expect(r.totals.requests).toBe(4)
    // gpu-de idle × 1080/1440 + gpu-fr idle half.
    expect(r.totals.idle_it_energy_wh.value).toBeCloseTo((540 + 1800) / 3600, 12)
    expect(r.energy_per_1k_requests_wh?.value).toBe(790.625)
    expect(r.totals.carbon_g.value).toBe(0.655)
    expect(r.budgets.map((b) => b.service)).toEqual(['chat'])
  })

  it('gives hardware to the service by its share of IT energy in the hardware’s zone', async () => {
    const r = await build('chat')
    // DE: chat 360 + 720 J of requests + 540 J of idle, of 360 + 720 + 360 + 720 J in all.
    const share = 1620 / 2160
    expect(r.lifecycle.hardware[0]?.scope_share).toBeCloseTo(share, 9)
    expect(r.sci.embodied_g).toBeCloseTo(M_FLEET * share, 9)
  })

  it('lists the training runs of the models the service served, and only those', async () => {
    // The fixture's run fine-tuned llama-3.1-8b-instruct, which chat serves and search does not.
    expect((await build('chat')).lifecycle.training_runs.map((t) => t.name)).toEqual(['ft-1'])
    expect((await build('search')).lifecycle.training_runs).toEqual([])
  })

  it('reports an empty scope without dividing by zero', async () => {
    const r = await build('nobody')
    expect(r.totals.requests).toBe(0)
    expect(r.energy_per_1k_requests_wh).toBeNull()
    expect(r.sci.per_request.sci_g).toBeNull()
    expect(r.peak_power_w.basis).toBe('none')
    expect(reportSchema.safeParse(r).success).toBe(true)
  })
})

describe('buildReport edge cases', () => {
  it('rejects a reversed period with WL_INVALID_INPUT', async () => {
    await expect(
      buildReport(
        createMemoryReportSource({}),
        { fromMs: TO_MS, toMs: FROM_MS, service: null },
        { generatedAtMs: 0 },
      ),
    ).rejects.toMatchObject({ code: 'WL_INVALID_INPUT' })
  })

  it('models the peak from per-minute energy when no power was sampled', async () => {
    const source = createMemoryReportSource({
      requests: [
        request({ id: 'a', at_ms: FROM_MS + 1000, energy_j: 6000 }),
        request({ id: 'b', at_ms: FROM_MS + 2000, energy_j: 6000 }),
        request({ id: 'c', at_ms: FROM_MS + 120_000, energy_j: 600 }),
      ],
    })
    const r = await buildReport(
      source,
      { fromMs: FROM_MS, toMs: TO_MS, service: null },
      { generatedAtMs: 0 },
    )
    expect(r.peak_power_w).toMatchObject({
      value: 200,
      method: 'modelled',
      basis: 'per-minute-energy',
    })
  })
})

describe('savings by lever and network energy', () => {
  const saving = (lever: 'cache' | 'prefix' | 'time-shift', j: number, g: number) => ({
    lever,
    energy_saved_j: j,
    energy_saved_low_j: j * 0.8,
    energy_saved_high_j: j * 1.25,
    carbon_saved_g: g,
    basis: 'estimated-counterfactual' as const,
  })
  const kwhPerGb = trendCoefficient(2024).kwhPerGb
  const net = (bytes: number) => ({
    network_bytes: bytes,
    network_energy_j: networkEnergyJ(bytes, kwhPerGb),
    network_carbon_g: networkEnergyJ(bytes, kwhPerGb) * 1e-4,
  })
  const source = createMemoryReportSource({
    requests: [
      request({ id: 'a', at_ms: FROM_MS + 1000, energy_j: 3600, ...net(2e6) }),
      request({
        id: 'hit',
        at_ms: FROM_MS + 2000,
        energy_j: 0,
        backend: 'cache',
        levers: encodeLeverSavings([saving('cache', 3600, 0.5)]) as string,
        ...net(1e6),
      }),
      request({
        id: 'p',
        at_ms: FROM_MS + 3000,
        energy_j: 1800,
        levers: encodeLeverSavings([
          saving('prefix', 360, 0.05),
          saving('time-shift', 0, 0.2),
        ]) as string,
      }),
      request({
        id: 'q',
        at_ms: FROM_MS + 4000,
        energy_j: 1800,
        service: 'other',
        levers: encodeLeverSavings([saving('prefix', 360, 0.05)]) as string,
      }),
    ],
  })
  const build = (service: string | null) =>
    buildReport(source, { fromMs: FROM_MS, toMs: TO_MS, service }, { generatedAtMs: 0 })

  it('adds each lever’s saving per scope, largest first, with interval and basis', async () => {
    const r = await build('chat')
    expect(r.savings_by_lever.levers.map((l) => [l.lever, l.requests])).toEqual([
      ['cache', 1],
      ['prefix', 1],
      ['time-shift', 1],
    ])
    const cache = r.savings_by_lever.levers[0]
    expect(cache?.energy_saved_wh).toEqual({ value: 1, low: 0.8, high: 1.25, method: 'modelled' })
    // 3600 J saved against 5400 J used: it would have been 9000 J.
    expect(cache?.share_of_energy_without_it_pct).toBe(40)
    expect(r.savings_by_lever.total_energy_saved_wh.value).toBe(1.1)
    expect(r.savings_by_lever.total_carbon_saved_g).toBe(0.75)
    const all = await build(null)
    expect(all.savings_by_lever.levers.find((l) => l.lever === 'prefix')?.requests).toBe(2)
    expect(reportSchema.safeParse(r).success).toBe(true)
  })

  it('reports network energy apart from compute, with the coefficient’s source', async () => {
    const r = await build('chat')
    expect(r.network.requests_counted).toBe(2)
    expect(r.network.bytes).toBe(3e6)
    expect(r.network.energy_wh).toBeCloseTo((3e6 / 1e9) * kwhPerGb * 1000, 6)
    expect(r.network.sources).toEqual([expect.stringContaining('Aslan et al. 2018')])
    // Totals stay compute only.
    expect(r.totals.it_energy_wh.value).toBe(1.5) // 3600 + 0 + 1800 J
    expect(renderMarkdown(r)).toContain('### Savings by lever')
    expect(renderHtml(r)).toContain('Network energy (apart from compute)')
  })
})

describe('amortise', () => {
  it('counts only the part of the period inside the service life', () => {
    const from = Date.parse('2024-01-01T00:00:00Z')
    const row = amortise(
      {
        id: 'x',
        hardware: 'A100-80GB',
        count: 2,
        zone: 'DE',
        embodied_g: 1000,
        source: 's',
        lifetime_years: 1,
        in_service_from_ms: from - MS_PER_YEAR + 86_400_000,
        allocation_share: 1,
      },
      from,
      from + 10 * 86_400_000,
      1,
    )
    expect(row.time_in_period_h).toBe(24)
    expect(row.amortised_g).toBeCloseTo((2000 * 86_400_000) / MS_PER_YEAR, 9)
  })

  it('maps zones to their country', () => {
    expect(regionOfZone('US-CAL-CISO')).toBe('US')
    expect(regionOfZone('DE')).toBe('DE')
  })
})

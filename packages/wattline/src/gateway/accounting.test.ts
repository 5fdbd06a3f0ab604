import {
  decodeLeverSavings,
  networkEnergyJ,
  trendCoefficient,
  utcYear,
  type RequestRecord,
} from '@wattline/core'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { DispatchInput } from './exchange-types.ts'
import { memorySink } from '../http/harness.test-support.ts'
import { createGatewayMetrics } from '../http/metrics.ts'
import { CACHE_BACKEND, createAccounting } from './accounting.ts'
import {
  clockAt,
  exchange,
  finishInput,
  MODEL,
  runtimes,
  testConfig,
  testIntensity,
} from './exchange.test-support.ts'
import { createLease } from './lease.ts'
import type { SavingsSource } from './pipeline.ts'
import { timeShiftOf, timeShiftSavings } from './time-shift.ts'

const END = finishInput({ requestId: 'req-1', arrivedMs: 900 })

/** An accounting over a lease whose attempt on backend `a` (FR, 50 g/kWh) took 1.5 s. */
async function rig(
  savings: SavingsSource[] = [],
  kwhPerGb?: number,
  over: Partial<DispatchInput> = {},
) {
  const config = testConfig()
  const rt = runtimes(config)[0]!
  const clock = clockAt(1_000)
  const ledger = memorySink()
  const metrics = createGatewayMetrics()
  const accounting = createAccounting({
    intensity: await testIntensity(),
    metrics,
    ledger,
    logger: pino({ level: 'silent' }),
    clock,
    savings,
    ...(kwhPerGb === undefined
      ? {}
      : { network: { enabled: true, kwh_per_gb: kwhPerGb, source: 'test' } }),
  })
  const lease = createLease({ clock, onInflight: () => {}, wake: () => {} })
  const ex = exchange(config, over)
  ex.backend = rt
  ex.decision = {
    kind: 'route',
    backend: 'a',
    policy: 'carbon-aware',
    reason: 'greenest',
    scores: [],
  }
  ex.attempts = 1
  await lease.dispatch!(ex, async () => void clock.advanceBy(1_500))
  return { accounting, lease, ex, ledger, rt, clock, metrics, config }
}

describe('accounting', () => {
  it('writes the ledger row and the counters from the lease energy at the zone intensity', async () => {
    const { accounting, lease, ex, ledger, rt, metrics } = await rig()
    const end = { ...END, tenant: 'acme' }
    lease.finish!(ex, end)
    accounting.finish!(ex, end)
    const a = ex.accounting!
    expect(a.energyJ).toBe(ex.energy!.energyJ)
    expect(a.carbonG).toBeCloseTo((a.facilityEnergyJ * 50) / 3_600_000, 12)
    expect(ledger.records).toHaveLength(1)
    expect(ledger.records[0]).toMatchObject({
      kind: 'request',
      id: 'req-1',
      backend: 'a',
      zone: 'FR',
      tenant: 'acme',
      latency_ms: 1_600,
      energy_j: a.energyJ,
      carbon_g: a.carbonG,
      intensity_g_per_kwh: 50,
      routing_policy: 'carbon-aware',
      attempts: 1,
    })
    expect((ledger.records[0] as RequestRecord).levers).toBeUndefined()
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/wattline_requests_total\{[^}]*backend="a"[^}]*status="200"[^}]*\} 1/)
    expect(rt.overheadMs).toBeDefined() // routing learnt from the measured latency
  })

  it('accounts nothing for an exchange the lease never attributed', async () => {
    const { accounting, ledger, config } = await rig()
    const ex = exchange(config)
    accounting.finish!(ex, END)
    expect(ledger.records).toHaveLength(0)
    expect(ex.accounting).toBeUndefined()
  })
})

describe('accounting: levers, shared calls, network, cache hits', () => {
  it("adds every source's savings and the time-shift one to the row's levers", async () => {
    const seen: number[] = []
    const fixed: SavingsSource = {
      savings(_ex, a, _end, occupancy, out) {
        seen.push(occupancy)
        out.push({
          lever: 'prefix',
          energy_saved_j: a.energyJ,
          energy_saved_low_j: 0,
          energy_saved_high_j: a.energyJ * 2,
          carbon_saved_g: 1,
          basis: 'estimated-counterfactual',
        })
      },
    }
    // a Batch API line deferred from a 400 g/kWh hour (it ran in FR at 50)
    const r = await rig([fixed, timeShiftSavings], undefined, { timeShiftFromGPerKwh: 400 })
    r.lease.finish!(r.ex, END)
    r.accounting.finish!(r.ex, END)
    const a = r.ex.accounting!
    const row = r.ledger.records[0] as RequestRecord
    const levers = decodeLeverSavings(row.levers!)
    expect(levers.map((l) => l.lever)).toEqual(['prefix', 'time-shift'])
    expect(levers[0]!.energy_saved_j).toBeCloseTo(a.energyJ, 9)
    expect(levers[1]!.carbon_saved_g).toBeCloseTo((a.facilityEnergyJ * (400 - 50)) / 3_600_000, 9)
    expect(seen).toEqual([r.ex.energy!.meanOccupancy])
    // not deferred: no time-shift saving
    expect(timeShiftOf(exchange(testConfig()), a)).toBeUndefined()
  })

  it('records the model asked for when a tier downgraded, the placed zone, and network energy', async () => {
    const r = await rig([], 0.05)
    r.ex.tier = { model: MODEL, requested: 'llama-3.1-70b-instruct', reason: 'opt-in' }
    r.ex.pinnedZone = 'FR'
    r.lease.finish!(r.ex, END)
    r.accounting.finish!(r.ex, { ...END, networkBytes: 1e9 })
    const row = r.ledger.records[0] as RequestRecord
    expect(row.model_requested).toBe('llama-3.1-70b-instruct')
    expect(JSON.parse(row.routing_reason)).toMatchObject({ placed_in_zone: 'FR' })
    expect(row.network_bytes).toBe(1e9)
    expect(row.network_energy_j).toBeCloseTo(0.05 * 3_600_000, 6) // 1 GB at 0.05 kWh/GB
    expect(row.network_carbon_g).toBeCloseTo(0.05 * 50, 6)
  })

  it('charges the network at the trend coefficient of each request UTC year, across year ends', async () => {
    const r = await rig()
    r.lease.finish!(r.ex, END)
    const ledger = memorySink()
    const accounting = createAccounting({
      intensity: await testIntensity(),
      metrics: createGatewayMetrics(),
      ledger,
      logger: pino({ level: 'silent' }),
      clock: r.clock,
      network: { enabled: true, source: 'test' },
    })
    const at = [
      Date.UTC(2023, 11, 31, 23, 59, 59, 999),
      Date.UTC(2024, 0, 1),
      Date.UTC(2023, 5, 1),
      Date.UTC(2031, 6, 1),
      new Date(0).setUTCFullYear(50, 3, 1),
      Date.UTC(1950, 3, 1),
      Date.UTC(2024, 0, 1) - 1,
    ]
    for (const arrivedMs of at) accounting.finish!(r.ex, { ...END, arrivedMs, networkBytes: 1e9 })
    const rows = ledger.records as RequestRecord[]
    expect(rows.map((row) => row.network_energy_j)).toEqual(
      at.map((ms) => networkEnergyJ(1e9, trendCoefficient(utcYear(ms)).kwhPerGb)),
    )
    // the coefficient halves every few years: neighbouring years differ
    expect(rows[0]!.network_energy_j).not.toBe(rows[1]!.network_energy_j)
  })

  it('splits a shared call into one row per part by weight (the rows add up to the call)', async () => {
    const r = await rig()
    const observed = r.rt.overheadMs
    r.ex.parts = [
      { input: { ...END, requestId: 'p1', inputTokens: 10 }, weight: 1 },
      {
        input: { ...END, requestId: 'p2', inputTokens: 30 },
        weight: 3,
        levers: (a) => [
          {
            lever: 'microbatch',
            energy_saved_j: a.energyJ,
            energy_saved_low_j: 0,
            energy_saved_high_j: a.energyJ,
            carbon_saved_g: 0,
            basis: 'estimated-counterfactual',
          },
        ],
      },
    ]
    r.lease.finish!(r.ex, END)
    r.accounting.finish!(r.ex, END)
    const total = r.ex.energy!.energyJ
    const [p1, p2] = r.ex.accountings!
    expect(r.ex.accounting).toBeUndefined()
    expect(p1!.energyJ + p2!.energyJ).toBeCloseTo(total, 9)
    expect(p2!.energyJ).toBeCloseTo(3 * p1!.energyJ, 9)
    const rows = r.ledger.records as RequestRecord[]
    expect(rows.map((x) => x.id)).toEqual(['p1', 'p2'])
    expect(rows[0]!.levers).toBeUndefined()
    expect(decodeLeverSavings(rows[1]!.levers!)[0]!.lever).toBe('microbatch')
    expect(r.rt.overheadMs).not.toBe(observed) // the latency model learnt from the call
  })

  it("gives each row only its own savings (a part's levers never leak into the next row)", async () => {
    const r = await rig()
    const saving = {
      lever: 'microbatch',
      energy_saved_j: 1,
      energy_saved_low_j: 0,
      energy_saved_high_j: 1,
      carbon_saved_g: 0,
      basis: 'estimated-counterfactual',
    } as const
    r.ex.parts = [
      { input: { ...END, requestId: 'p1' }, weight: 1, levers: () => [saving] },
      { input: { ...END, requestId: 'p2' }, weight: 1 },
      { input: { ...END, requestId: 'p3' }, weight: 1, levers: () => [saving, saving] },
    ]
    r.lease.finish!(r.ex, END)
    r.accounting.finish!(r.ex, END)
    const rows = r.ledger.records as RequestRecord[]
    expect(decodeLeverSavings(rows[0]!.levers!)).toHaveLength(1)
    expect(rows[1]!.levers).toBeUndefined()
    expect(decodeLeverSavings(rows[2]!.levers!)[0]!.energy_saved_j).toBe(2)
  })

  it('writes a cache hit as a 0 J row of backend `cache` with the saving', async () => {
    const r = await rig()
    r.accounting.recordCacheHit({
      requestId: 'hit',
      arrivedMs: 990,
      service: 'chat',
      tenant: 't',
      model: MODEL,
      endpoint: '/v1/chat/completions',
      streamed: false,
      zone: 'DE',
      networkBytes: 100,
      saving: {
        lever: 'cache',
        energy_saved_j: 5,
        energy_saved_low_j: 4,
        energy_saved_high_j: 6,
        carbon_saved_g: 0.1,
        basis: 'estimated-counterfactual',
      },
    })
    const row = r.ledger.records[0] as RequestRecord
    expect(row).toMatchObject({
      id: 'hit',
      backend: CACHE_BACKEND,
      zone: 'DE',
      energy_j: 0,
      carbon_g: 0,
      intensity_g_per_kwh: 300,
      latency_ms: 2_500 - 990,
      attempts: 0,
    })
    expect(decodeLeverSavings(row.levers!)[0]).toMatchObject({ lever: 'cache', energy_saved_j: 5 })
  })
})

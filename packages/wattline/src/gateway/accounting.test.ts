import { decodeLeverSavings, type RequestRecord } from '@wattline/core'
import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { createIntensityBoard } from '../http/intensity-board.ts'
import { fixedIntensity, memorySink, realClock } from '../http/harness.test-support.ts'
import { createGatewayMetrics } from '../http/metrics.ts'
import { CACHE_BACKEND, createAccounting } from './accounting.ts'
import { clockAt, exchange, MODEL, runtimes, testConfig } from './exchange.test-support.ts'
import { createLease } from './lease.ts'
import type { DispatchInput } from '../http/gateway.ts'
import type { SavingsSource } from './pipeline.ts'
import { timeShiftOf, timeShiftSavings } from './time-shift.ts'

describe('accounting', () => {
  it('writes the ledger row and the counters from the lease energy at the zone intensity', async () => {
    const config = testConfig()
    const rt = runtimes(config)[0]!
    const clock = clockAt(1_000)
    const intensity = createIntensityBoard({
      source: fixedIntensity({ FR: 50, DE: 300, PL: 600 }),
      clock: realClock,
      zones: ['FR', 'DE', 'PL'],
      signal: 'average',
    })
    await intensity.refresh()
    const metrics = createGatewayMetrics()
    const ledger = memorySink()
    const accounting = createAccounting({
      intensity,
      metrics,
      ledger,
      logger: pino({ level: 'silent' }),
      clock,
    })
    const lease = createLease({ clock, onInflight: () => {}, wake: () => {} })
    const ex = exchange(config)
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
    const end = {
      status: 200,
      inputTokens: 100,
      outputTokens: 50,
      ttftMs: null,
      streamed: false,
      endpoint: '/v1/chat/completions',
      requestId: 'req-1',
      tenant: 'acme',
      arrivedMs: 900,
      errorCode: null,
      completed: true,
    }
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
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/wattline_requests_total\{[^}]*backend="a"[^}]*status="200"[^}]*\} 1/)
    expect(rt.overheadMs).toBeDefined() // routing learnt from the measured latency
  })

  it('accounts nothing for an exchange the lease never attributed', () => {
    const config = testConfig()
    const ledger = memorySink()
    const accounting = createAccounting({
      intensity: createIntensityBoard({
        source: fixedIntensity({}),
        clock: realClock,
        zones: [],
        signal: 'average',
      }),
      metrics: createGatewayMetrics(),
      ledger,
      logger: pino({ level: 'silent' }),
      clock: clockAt(),
    })
    const ex = exchange(config)
    accounting.finish!(ex, {
      status: 200,
      inputTokens: 0,
      outputTokens: 0,
      ttftMs: null,
      streamed: false,
      endpoint: '/v1/chat/completions',
      requestId: 'r',
      tenant: null,
      arrivedMs: 0,
      errorCode: null,
      completed: true,
    })
    expect(ledger.records).toHaveLength(0)
    expect(ex.accounting).toBeUndefined()
  })
})

describe('accounting: levers, shared calls, network, cache hits', () => {
  const END = {
    status: 200,
    inputTokens: 100,
    outputTokens: 50,
    ttftMs: null,
    streamed: false,
    endpoint: '/v1/chat/completions',
    requestId: 'req-1',
    tenant: null,
    arrivedMs: 900,
    errorCode: null,
    completed: true,
  }

  async function rig(
    savings: SavingsSource[] = [],
    kwhPerGb?: number,
    over: Partial<DispatchInput> = {},
  ) {
    const config = testConfig()
    const rt = runtimes(config)[0]!
    const clock = clockAt(1_000)
    const intensity = createIntensityBoard({
      source: fixedIntensity({ FR: 50, DE: 300, PL: 600 }),
      clock: realClock,
      zones: ['FR', 'DE', 'PL'],
      signal: 'average',
    })
    await intensity.refresh()
    const ledger = memorySink()
    const metrics = createGatewayMetrics()
    const accounting = createAccounting({
      intensity,
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
    ex.decision = { kind: 'route', backend: 'a', policy: 'least-loaded', reason: 'r', scores: [] }
    ex.attempts = 1
    await lease.dispatch!(ex, async () => void clock.advanceBy(2_000))
    return { accounting, lease, ex, ledger, rt, clock, metrics }
  }

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
      latency_ms: 3_000 - 990,
      attempts: 0,
    })
    expect(decodeLeverSavings(row.levers!)[0]).toMatchObject({ lever: 'cache', energy_saved_j: 5 })
  })
})

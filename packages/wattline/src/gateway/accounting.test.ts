import { describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { createIntensityBoard } from '../http/intensity-board.ts'
import { fixedIntensity, memorySink, realClock } from '../http/harness.test-support.ts'
import { createGatewayMetrics } from '../http/metrics.ts'
import { createAccounting } from './accounting.ts'
import { clockAt, exchange, runtimes, testConfig } from './exchange.test-support.ts'
import { createLease } from './lease.ts'

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

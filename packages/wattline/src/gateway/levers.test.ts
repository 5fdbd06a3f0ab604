import type { LeverEnergySaving, RoutingLever } from '@wattline/core'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { Accounting } from '../http/accounting.ts'
import type { LeverNote, LiveLevers, SavingWork } from '../http/live-levers.ts'
import { ENERGY_SAVED_METRIC } from '../http/metrics.ts'
import { exchange, finishInput, runtimes, testConfig } from './exchange.test-support.ts'
import { createLeverSavings } from './levers.ts'

const SAVED: LeverEnergySaving = {
  lever: 'prefix',
  energy_saved_j: 2,
  energy_saved_low_j: 1,
  energy_saved_high_j: 3,
  carbon_saved_g: 0.5,
  basis: 'estimated-counterfactual',
}

/** Live levers that record what the saving source asked of them. */
function fakeLevers(routing: readonly RoutingLever[]) {
  const served: (LeverNote | undefined)[] = []
  const work: SavingWork[] = []
  const levers = {
    routing,
    served: (n: LeverNote | undefined) => void served.push(n),
    savings: (_n: LeverNote | undefined, w: SavingWork) => {
      work.push(w)
      return [SAVED]
    },
  } as unknown as LiveLevers
  return { levers, served, work }
}

const accounted = { intensity: { intensity: 120 } } as unknown as Accounting

describe('lever savings (prefix affinity, occupancy shaping)', () => {
  it('is left out when no service enables a routing lever', () => {
    expect(createLeverSavings(fakeLevers([]).levers, new Registry())).toBeUndefined()
  })

  it('records an answered request in the prefix table and adds what the levers saved, counted', async () => {
    const registry = new Registry()
    const { levers, served, work } = fakeLevers([{} as RoutingLever])
    const source = createLeverSavings(levers, registry)!
    const config = testConfig()
    const ex = exchange(config)
    ex.backend = runtimes(config)[0]!
    const note = { backend: 0 } as unknown as LeverNote
    ex.levers = note
    const out: LeverEnergySaving[] = []
    source.savings(ex, accounted, finishInput({ inputTokens: 7, outputTokens: 3 }), 1, out)
    expect(out).toEqual([SAVED])
    expect(served).toEqual([note])
    expect(work[0]).toMatchObject({ inputTokens: 7, outputTokens: 3, intensityGPerKwh: 120 })
    expect(work[0]!.pue).toBe(ex.backend.config.pue)
    const counted = await registry.getSingleMetric(ENERGY_SAVED_METRIC)!.get()
    expect(counted.values).toMatchObject([
      { value: 2, labels: { lever: 'prefix', service: 'chat' } },
    ])
    // a failed or cut-off request, or one no lever noted, adds nothing and is not recorded
    source.savings(ex, accounted, finishInput({ status: 502 }), 1, out)
    source.savings(ex, accounted, finishInput({ completed: false }), 1, out)
    ex.levers = undefined
    source.savings(ex, accounted, finishInput(), 1, out)
    expect(out).toHaveLength(1)
    expect(served).toHaveLength(1)
  })
})

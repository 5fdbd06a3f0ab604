import { gramsPerKwh, instant } from '@wattline/core'
import { describe, expect, it } from 'vitest'
import { createRoundRobinShadow, type ShadowBackend } from './round-robin-shadow.ts'
import { linearProfile } from './test-profile.ts'

const profile = linearProfile({
  msPerToken: 10,
  msPerTokenPerBatch: 0,
  powerW: 360,
  powerPerBatchW: 0,
})
// 360 W × 10 ms = 3.6 J per output token at batch 1; prefill 0.05 ms × 360 W = 0.018 J per input token.
const fleet: ShadowBackend[] = [
  { id: 'green', zone: 'G', pue: 1, profile },
  { id: 'dirty', zone: 'D', pue: 1.5, profile },
]
const intensity = { G: 100, D: 500 } as Record<string, number>

describe('createRoundRobinShadow', () => {
  it('charges round-robin the backend it would have picked, by the same formula', () => {
    const shadow = createRoundRobinShadow(fleet, (z) => gramsPerKwh(intensity[z] ?? 0))
    const base = {
      backend: 'green',
      inputTokens: 0,
      outputTokens: 1000,
      at: instant(0),
      running: {},
    }
    shadow.add({ ...base, index: 0 })
    shadow.add({ ...base, index: 1 })
    const t = shadow.totals()
    // Served: 2 × 3600 J on green at 100 g/kWh = 2 × 0.1 g. Round-robin: green (0.1 g), then dirty:
    // 3600 J × 1.5 × 500 g/kWh = 0.75 g.
    expect(t.servedJ).toBeCloseTo(7200, 6)
    expect(t.servedG).toBeCloseTo(0.2, 9)
    expect(t.roundRobinG).toBeCloseTo(0.85, 9)
    expect(t.savingsPct).toBeCloseTo((1 - 0.2 / 0.85) * 100, 9)
  })

  it('shows no savings when the router did what round-robin would have done', () => {
    const shadow = createRoundRobinShadow(fleet, (z) => gramsPerKwh(intensity[z] ?? 0))
    for (let i = 0; i < 6; i += 1) {
      shadow.add({
        index: i,
        backend: i % 2 === 0 ? 'green' : 'dirty',
        inputTokens: 50,
        outputTokens: 20,
        at: instant(0),
        running: {},
      })
    }
    expect(shadow.totals().savingsPct).toBeCloseTo(0, 9)
  })

  it('evaluates the energy at the batch each router would have run', () => {
    const batchy = linearProfile({
      msPerToken: 10,
      msPerTokenPerBatch: 0,
      powerW: 100,
      powerPerBatchW: 100,
    })
    // Energy per output token at batch b = (100 b W × 10 ms) / b = 1 J: flat, so only the batch
    // passed matters through the prefill term (100 b W × 0.05 ms per input token).
    const shadow = createRoundRobinShadow(
      [
        { id: 'a', zone: 'Z', pue: 1, profile: batchy },
        { id: 'b', zone: 'Z', pue: 1, profile: batchy },
      ],
      () => gramsPerKwh(1000),
    )
    shadow.add({
      index: 0,
      backend: 'a',
      inputTokens: 1000,
      outputTokens: 0,
      at: instant(0),
      running: { a: 3, b: 0 },
    })
    const t = shadow.totals()
    // Served at batch 4: 1000 × 400 W × 0.05 ms = 20 J. Round-robin at ⌈4 / 2⌉ = 2: 10 J.
    expect(t.servedJ).toBeCloseTo(20, 9)
    expect(t.roundRobinJ).toBeCloseTo(10, 9)
  })

  it('ignores requests served by a backend it does not know', () => {
    const shadow = createRoundRobinShadow(fleet, () => gramsPerKwh(1))
    expect(
      shadow.add({
        index: 0,
        backend: 'x',
        inputTokens: 1,
        outputTokens: 1,
        at: instant(0),
        running: {},
      }),
    ).toBe(false)
    expect(shadow.totals()).toMatchObject({ requests: 0, savingsPct: null })
  })
})

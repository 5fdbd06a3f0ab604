import { describe, expect, it } from 'vitest'
import { hasCode } from '../errors.ts'
import { advise } from './advise.ts'
import { adviseCandidates } from './candidates.ts'
import { evaluateOption } from './rank.ts'
import { mixFromSummary, mixFromTrace } from './workload-mix.ts'
import { typicalZoneDay } from './zone-day.ts'

const flat = (rps: number) =>
  mixFromSummary(
    { input_tokens: { mean: 500 }, output_tokens: { mean: 300, p95: 600 }, requests_per_s: rps },
    'm.yaml',
  )

describe('workload mix', () => {
  it('summarises a trace into lengths and an hourly rate, filling unobserved hours', () => {
    // 3,600 requests spread over 10:00–11:00 UTC, one per second.
    const t0 = Date.UTC(2024, 0, 1, 10)
    const at = Array.from({ length: 3600 }, (_, i) => t0 + i * 1000)
    const mix = mixFromTrace(
      at,
      at.map((_, i) => (i % 2 === 0 ? 100 : 300)),
      at.map(() => 50),
      't',
    )
    expect(mix.coveredHours).toBe(1)
    expect(mix.ratePerHour[10]).toBeCloseTo(1, 2)
    expect(mix.ratePerHour[3]).toBeCloseTo(1, 2)
    expect(mix.inputTokens.mean).toBe(200)
    expect(mix.inputTokens.p95).toBe(300)
  })
})

describe('advise ranking', () => {
  const cands = adviseCandidates({ models: ['llama-3.1-8b-instruct'], outputTokens: 300 })
  const h100 = cands.find((c) => c.hardware === 'H100-SXM' && c.entry !== undefined)

  it('sizes replicas to the peak hour and keeps energy per request from rising with load', () => {
    expect(h100).toBeDefined()
    if (h100 === undefined) return
    const base = { candidates: cands, zones: [], pue: 1 }
    const light = evaluateOption({ ...base, mix: flat(1) }, h100, 64)
    const heavy = evaluateOption({ ...base, mix: flat(200) }, h100, 64)
    expect(light.replicas).toBe(1)
    expect(heavy.replicas).toBeGreaterThan(1)
    expect(heavy.capacity_rps).toBeGreaterThanOrEqual(200)
    // A busier fleet runs larger batches: less energy per request.
    expect(heavy.energy_per_1k_requests_wh.value).toBeLessThan(
      light.energy_per_1k_requests_wh.value,
    )
    // Fixed replicas that cannot carry the load say so.
    const short = evaluateOption({ ...base, mix: flat(200) }, h100, 8, 1)
    expect(short.carries_peak).toBe(false)
  })

  it('charges carbon with the zone typical day and applies PUE', () => {
    if (h100 === undefined) return
    const fr = typicalZoneDay('FR')
    const pl = typicalZoneDay('PL')
    const a = evaluateOption({ mix: flat(5), candidates: cands, zones: [fr, pl], pue: 1 }, h100, 64)
    const b = evaluateOption(
      { mix: flat(5), candidates: cands, zones: [fr, pl], pue: 1.5 },
      h100,
      64,
    )
    expect(b.energy_per_1k_requests_wh.value).toBeCloseTo(
      a.energy_per_1k_requests_wh.value * 1.5,
      6,
    )
    expect(a.best_zone).toBe('FR')
    const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
    // Flat load: carbon = energy × mean intensity of the day.
    expect(a.carbon_per_1k_requests_g['PL']?.value).toBeCloseTo(
      (a.energy_per_1k_requests_wh.value / 1000) * mean(pl.intensityByHour),
      6,
    )
  })

  it('refuses to advise when nothing was measured', () => {
    try {
      advise({ mix: flat(1), models: ['deepseek-r1'], zones: [], pue: 1 })
      expect.unreachable()
    } catch (e) {
      expect(hasCode(e, 'WL_NO_MEASURED_PROFILE')).toBe(true)
    }
  })
})

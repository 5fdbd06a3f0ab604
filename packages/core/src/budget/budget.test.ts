import { describe, expect, it } from 'vitest'
import { budgetTarget, type BudgetSpec } from './budget-target.ts'
import { meanInterval, tQuantile95 } from './confidence.ts'
import { evaluateGate } from './gate-verdict.ts'
import { metricValue } from './metric-value.ts'
import { RollingTotals } from './rolling-totals.ts'
import { evaluateWatch } from './watch-verdict.ts'

const budget = (over: Partial<BudgetSpec> = {}): BudgetSpec => ({
  metric: 'energy_per_1k_requests_wh',
  baseline: 100,
  stage: 'pilot',
  stage_reductions_pct: { pilot: 20, production: 40 },
  variance_pct: 5,
  max_regression_pct: 10,
  ...over,
})
const m = (value: number, low: number, high: number) =>
  ({ value, low, high, method: 'modelled', source: 'test' }) as const

describe('budgetTarget', () => {
  it('puts pilot 20 % and production 40 % below baseline, with variance on top', () => {
    expect(budgetTarget(budget())).toMatchObject({ target: 80, limit: 84, reduction_pct: 20 })
    const prod = budgetTarget(budget({ stage: 'production' }))
    expect(prod.target).toBeCloseTo(60)
    expect(prod.limit).toBeCloseTo(63)
  })

  it('honours overridden reductions and an explicit target', () => {
    expect(
      budgetTarget(budget({ stage_reductions_pct: { pilot: 10, production: 40 } })).target,
    ).toBe(90)
    expect(budgetTarget(budget({ target: 70 }))).toMatchObject({ target: 70, reduction_pct: null })
  })
})

describe('evaluateGate', () => {
  it('passes when the upper bound is within the limit and there is no regression', () => {
    const v = evaluateGate(budget(), m(78, 76, 83.9), { release: 'v1', value: 75 })
    expect(v.passed).toBe(true)
    expect(v.regression_pct).toBeCloseTo(4)
    expect(v.checks.every((c) => c.passed)).toBe(true)
  })

  it('fails on the upper bound even when the mean is under target', () => {
    const v = evaluateGate(budget(), m(79, 70, 85), null)
    expect(v.passed).toBe(false)
    expect(v.checks[0]?.message).toContain('upper bound 85 > limit 84')
    expect(v.budget_ratio).toBeCloseTo(85 / 84)
  })

  it('fails a regression beyond the limit against the last accepted release', () => {
    const v = evaluateGate(budget(), m(70, 69, 71), { release: 'v7', value: 60 })
    expect(v.passed).toBe(false)
    expect(v.checks[1]).toMatchObject({ name: 'regression', passed: false })
    expect(v.checks[1]?.message).toContain('+16.67 %')
  })
})

describe('meanInterval', () => {
  it('gives a Student-t 95 % interval', () => {
    const r = meanInterval([10, 12, 11, 13, 9])
    expect(r.mean).toBe(11)
    expect(r.high - r.mean).toBeCloseTo((2.776 * Math.sqrt(2.5)) / Math.sqrt(5), 6)
    expect(tQuantile95(100)).toBe(1.96)
    expect(meanInterval([4])).toMatchObject({ low: 4, high: 4 })
  })
})

describe('production watch', () => {
  it('computes metrics from totals', () => {
    const t = { requests: 2000, output_tokens: 400_000, energy_j: 720_000, carbon_g: 50 }
    expect(metricValue('energy_per_1k_requests_wh', t)).toBe(100)
    expect(metricValue('energy_per_output_token_j', t)).toBe(1.8)
    expect(metricValue('carbon_per_1k_requests_g', t)).toBe(25)
    expect(metricValue('energy_per_output_token_j', { ...t, output_tokens: 0 })).toBeNull()
  })

  it('keeps only the window and flags a breach once enough requests were seen', () => {
    const w = new RollingTotals(10_000)
    const usage = { requests: 1, output_tokens: 100, energy_j: 360, carbon_g: 0.01 }
    for (let s = 0; s < 30; s += 1) w.add(1_000_000 + s * 1000, usage)
    expect(w.totals(1_029_500).requests).toBe(10)
    expect(w.totals(1_100_000).requests).toBe(0)
    // 360 J per request = 100 Wh per 1k requests vs limit 84 → ratio 1.19
    const v = evaluateWatch(budget(), w.totals(1_029_500), 5)
    expect(v.ratio).toBeCloseTo(100 / 84)
    expect(v.breached).toBe(true)
    expect(evaluateWatch(budget(), w.totals(1_029_500), 50)).toMatchObject({
      judged: false,
      breached: false,
    })
  })
})

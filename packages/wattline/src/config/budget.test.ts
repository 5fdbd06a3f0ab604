import { describe, expect, it } from 'vitest'
import * as z from 'zod'
import { budgetConfigSchema, ledgerConfigSchema } from './budget.ts'

describe('budgetConfigSchema', () => {
  it('fills stage, reductions, variance, regression limit and watch defaults', () => {
    const b = budgetConfigSchema.parse({ metric: 'energy_per_1k_requests_wh', baseline: 100 })
    expect(b.stage).toBe('pilot')
    expect(b.stage_reductions_pct).toEqual({ pilot: 20, production: 40 })
    expect(b.variance_pct).toBe(5)
    expect(b.max_regression_pct).toBe(10)
    expect(b.families).toEqual([])
    expect(b.watch).toEqual({ enabled: true, window_s: 300, min_requests: 50, webhooks: [] })
  })

  it('rejects impossible numbers naming each field', () => {
    const r = budgetConfigSchema.safeParse({
      metric: 'watts',
      baseline: -1,
      variance_pct: 150,
      stage_reductions_pct: { pilot: 100 },
    })
    expect(r.success).toBe(false)
    const paths = r.error?.issues.map((i) => i.path.join('.')).sort()
    expect(paths).toEqual(['baseline', 'metric', 'stage_reductions_pct.pilot', 'variance_pct'])
    expect(z.prettifyError(r.error as z.ZodError)).toContain('variance_pct must be ≤ 100')
  })

  it('accepts per-family budgets and webhooks, and rejects unknown fields', () => {
    const b = budgetConfigSchema.parse({
      metric: 'energy_per_output_token_j',
      baseline: 0.5,
      stage: 'production',
      families: [{ family: 'llama-3.1', metric: 'energy_per_output_token_j', baseline: 0.3 }],
      watch: { window_s: 60, webhooks: [{ url: 'http://127.0.0.1:9/hook' }] },
    })
    expect(b.families[0]?.stage).toBe('pilot')
    expect(b.watch.webhooks[0]?.timeout_ms).toBe(5000)
    const bad = budgetConfigSchema.safeParse({
      metric: 'carbon_per_1k_requests_g',
      baseline: 1,
      baseline_wh: 2,
    })
    expect(bad.success).toBe(false)
  })
})

describe('ledgerConfigSchema', () => {
  it('defaults to a local SQLite file and a flush interval under 250 ms', () => {
    const l = ledgerConfigSchema.parse(undefined)
    expect(l.url).toBe('sqlite:./wattline.db')
    expect(l.flush_interval_ms).toBeLessThanOrEqual(250)
    expect(l.retention_days).toBeNull()
  })

  it('rejects a flush interval over 250 ms and an unknown URL scheme', () => {
    expect(ledgerConfigSchema.safeParse({ flush_interval_ms: 500 }).success).toBe(false)
    expect(ledgerConfigSchema.safeParse({ url: 'mysql://x' }).success).toBe(false)
  })
})

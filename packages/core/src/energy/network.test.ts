import { describe, expect, it } from 'vitest'
import { networkEnergyJ, trendCoefficient, utcYear } from './network.ts'

describe('network energy', () => {
  it('follows the Aslan et al. trend: 0.06 kWh/GB in 2015, halving every 2 years', () => {
    expect(trendCoefficient(2015).kwhPerGb).toBeCloseTo(0.06, 12)
    expect(trendCoefficient(2017).kwhPerGb).toBeCloseTo(0.03, 12)
    expect(trendCoefficient(2026).kwhPerGb).toBeCloseTo(0.06 * 0.5 ** 5.5, 12)
    expect(trendCoefficient(2026).source).toContain('extrapolated to 2026')
    expect(trendCoefficient(2015).source).not.toContain('extrapolated')
  })

  it('charges bytes × kWh/GB in joules, never negative', () => {
    expect(networkEnergyJ(1e9, 0.06)).toBeCloseTo(216_000, 6)
    expect(networkEnergyJ(4096, 0.001)).toBeCloseTo(4096e-9 * 3600, 9)
    expect(networkEnergyJ(-5, 0.06)).toBe(0)
  })

  it('takes the year in UTC', () => {
    expect(utcYear(Date.UTC(2026, 11, 31, 23, 59))).toBe(2026)
    expect(utcYear(Date.UTC(2027, 0, 1, 0, 0))).toBe(2027)
  })
})

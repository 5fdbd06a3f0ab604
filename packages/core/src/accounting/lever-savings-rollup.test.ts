import { describe, expect, it } from 'vitest'
import { encodeLeverSavings, type LeverEnergySaving } from '../levers/savings.ts'
import { LeverSavingsRollup } from './lever-savings-rollup.ts'

const saving = (lever: LeverEnergySaving['lever'], j: number, g: number): LeverEnergySaving => ({
  lever,
  energy_saved_j: j,
  energy_saved_low_j: j * 0.8,
  energy_saved_high_j: j * 1.25,
  carbon_saved_g: g,
  basis: 'estimated-counterfactual',
})

describe('LeverSavingsRollup', () => {
  it('adds savings per lever and basis, and per lever with requests and carbon used', () => {
    const r = new LeverSavingsRollup()
    r.add({
      energy_j: 100,
      carbon_g: 1,
      levers: encodeLeverSavings([saving('cache', 50, 0.5)]) as string,
    })
    r.add({
      energy_j: 200,
      carbon_g: 2,
      levers: encodeLeverSavings([saving('prefix', 10, 0.1), saving('cache', 30, 0.3)]) as string,
    })
    r.add({ energy_j: 300, carbon_g: 3 })
    expect(r.usedJ).toBe(600)
    const rows = r.byLeverAndBasis()
    expect(rows.map((s) => [s.lever, s.energy_saved_j, s.energy_saved_low_j])).toEqual([
      ['cache', 80, 64],
      ['prefix', 10, 8],
    ])
    expect(r.byLever()).toEqual([
      { lever: 'cache', energySavedJ: 80, carbonSavedG: 0.8, requests: 2, usedCarbonG: 3 },
      { lever: 'prefix', energySavedJ: 10, carbonSavedG: 0.1, requests: 1, usedCarbonG: 2 },
    ])
    expect(r.requestsOf('cache')).toBe(2)
    expect(r.requestsOf('tier')).toBe(0)
  })
})

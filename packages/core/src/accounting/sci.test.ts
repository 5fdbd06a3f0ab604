import { describe, expect, it } from 'vitest'
import { estimate } from '../units/estimate.ts'
import { gramsCo2e, gramsPerKwh, joules } from '../units/quantity.ts'
import { sci, sciPerUnit, sciTotal } from './sci.ts'

describe('SCI', () => {
  it('computes (E·I + M)/R with interval bounds', () => {
    const s = sci({
      energy: estimate(joules(3_600_000), 'modelled', 'e', joules(1_800_000), joules(7_200_000)),
      intensity: estimate(gramsPerKwh(400), 'modelled', 'i'),
      embodied: estimate(gramsCo2e(100), 'modelled', 'm'),
      functionalUnits: 10,
    })
    expect(s.value).toBeCloseTo(50, 9) // (1 kWh × 400 + 100) / 10
    expect(s.low).toBeCloseTo(30, 9)
    expect(s.high).toBeCloseTo(90, 9)
    expect(s.method).toBe('modelled')
    const one = estimate(gramsCo2e(1), 'measured', 'x')
    expect(() =>
      sci({
        energy: estimate(joules(1), 'measured', 'e'),
        intensity: estimate(gramsPerKwh(1), 'measured', 'i'),
        embodied: one,
        functionalUnits: 0,
      }),
    ).toThrow(expect.objectContaining({ code: 'WL_INVALID_INPUT' }))
  })

  it('adds embodied to operational carbon bound by bound, and divides by R when R > 0', () => {
    const total = sciTotal(
      { value: 0.73, low: 0.66, high: 0.8 },
      { value: 0.1, low: 0.1, high: 0.1 },
    )
    expect(total.value).toBeCloseTo(0.83, 12)
    expect(total.low).toBeCloseTo(0.76, 12)
    expect(total.high).toBeCloseTo(0.9, 12)
    const per = sciPerUnit(total, 5)
    expect(per?.value).toBeCloseTo(0.166, 12)
    expect(per?.high).toBeCloseTo(0.18, 12)
    expect(sciPerUnit(total, 0)).toBeNull()
  })
})

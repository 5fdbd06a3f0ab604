import { describe, expect, it } from 'vitest'
import { estimate } from '../units/estimate.ts'
import { gramsCo2e, gramsPerKwh, joules, ms } from '../units/quantity.ts'
import { CCF_SERVER_LIFESPAN_MS, embodiedShare, facilityEnergy, sci } from './sci.ts'

describe('SCI', () => {
  it('applies PUE and rejects a PUE below 1', () => {
    expect(facilityEnergy(joules(1000), 1.2)).toBeCloseTo(1200, 9)
    expect(() => facilityEnergy(joules(1), 0.8)).toThrow(
      expect.objectContaining({ code: 'WL_INVALID_INPUT' }),
    )
  })

  it('amortises embodied emissions by time and resource share', () => {
    // 1 hour of 1 of 8 GPUs of a 1,200 kg platform over CCF's 35,040 h lifespan.
    const m = embodiedShare({
      totalEmbodied: gramsCo2e(1_200_000),
      timeReserved: ms(3_600_000),
      expectedLifespan: ms(CCF_SERVER_LIFESPAN_MS),
      resourcesReserved: 1,
      totalResources: 8,
    })
    expect(m).toBeCloseTo(1_200_000 / 35_040 / 8, 9)
    expect(() =>
      embodiedShare({
        totalEmbodied: gramsCo2e(1),
        timeReserved: ms(1),
        expectedLifespan: ms(1),
        resourcesReserved: 9,
        totalResources: 8,
      }),
    ).toThrow(expect.objectContaining({ code: 'WL_INVALID_INPUT' }))
  })

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
})

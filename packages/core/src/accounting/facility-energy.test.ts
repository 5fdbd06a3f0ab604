import { describe, expect, it } from 'vitest'
import { joules } from '../units/quantity.ts'
import { facilityEnergy, facilityTotals } from './facility-energy.ts'

describe('facility energy', () => {
  it('multiplies IT energy by PUE and rejects a PUE below 1', () => {
    expect(facilityEnergy(joules(1000), 1.2)).toBeCloseTo(1200, 9)
    expect(() => facilityEnergy(joules(1), 0.8)).toThrow(
      expect.objectContaining({ code: 'WL_INVALID_INPUT' }),
    )
  })

  it('sums a fleet backend by backend at each site’s PUE, idle part and carbon alongside', () => {
    const backends = [
      { energyJ: 1000, idleEnergyJ: 200, carbonG: 3 },
      { energyJ: 500, idleEnergyJ: 100, carbonG: 1 },
    ]
    const pue = [1.5, 1.1]
    const t = facilityTotals(backends, (j) => pue[j] as number)
    expect(t.energyJ).toBeCloseTo(1000 * 1.5 + 500 * 1.1, 9)
    expect(t.idleEnergyJ).toBeCloseTo(200 * 1.5 + 100 * 1.1, 9)
    expect(t.carbonG).toBe(4)
    const second = facilityTotals(
      backends,
      (j) => pue[j] as number,
      (j) => j === 1,
    )
    expect(second).toEqual({ energyJ: 550, idleEnergyJ: 110.00000000000001, carbonG: 1 })
  })
})

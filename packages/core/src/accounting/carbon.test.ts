import { describe, expect, it } from 'vitest'
import { carbonOf, gramsPerKwh, joules } from '../units/quantity.ts'
import { carbonOfItEnergy, carbonPerItJoule } from './carbon.ts'

describe('carbon of IT energy', () => {
  it('is facility energy (IT × PUE) × intensity, per kWh', () => {
    // 1 kWh of IT energy at PUE 1.2 in a 400 g/kWh zone: 1.2 kWh × 400 = 480 g.
    expect(carbonPerItJoule(1.2, 400) * 3_600_000).toBeCloseTo(480, 9)
    expect(carbonOfItEnergy(3_600_000, 1.2, 400)).toBeCloseTo(480, 9)
    expect(carbonOfItEnergy(1234, 1.3, 250)).toBeCloseTo(
      carbonOf(joules(1234 * 1.3), gramsPerKwh(250)),
      12,
    )
  })

  it('is zero at zero intensity or energy', () => {
    expect(carbonPerItJoule(1.5, 0)).toBe(0)
    expect(carbonOfItEnergy(0, 1.5, 300)).toBe(0)
  })
})

import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  carbonOf,
  energyOf,
  gramsPerKwh,
  joules,
  joulesToKwh,
  joulesToWh,
  kwhToJoules,
  ms,
  sum,
  watts,
  wattHours,
  whToJoules,
  type Joules,
  type Watts,
} from './quantity.ts'

describe('units', () => {
  it('converts between joules, watt-hours and kilowatt-hours', () => {
    expect(whToJoules(wattHours(1))).toBe(3600)
    expect(joulesToWh(joules(7200))).toBe(2)
    expect(joulesToKwh(joules(3_600_000))).toBe(1)
    expect(kwhToJoules(joulesToKwh(joules(12345)))).toBeCloseTo(12345, 9)
  })

  it('computes energy of power over time and carbon of energy at an intensity', () => {
    expect(energyOf(watts(700), ms(2000))).toBe(1400)
    // 1 kWh at 400 g/kWh = 400 g
    expect(carbonOf(joules(3_600_000), gramsPerKwh(400))).toBe(400)
  })

  it('round-trips Wh through joules for any finite value', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), (wh) => {
        expect(joulesToWh(whToJoules(wattHours(wh)))).toBeCloseTo(wh, 6)
      }),
    )
  })

  it('does not let units mix at compile time', () => {
    const e: Joules = joules(1)
    const p: Watts = watts(1)
    // @ts-expect-error watts are not joules
    const wrong: Joules = p
    // @ts-expect-error a bare number is not a quantity
    const bare: Joules = 5
    // @ts-expect-error sum keeps one unit
    const mixed: Joules = sum<Watts>([p, p])
    expect([e, wrong, bare, mixed]).toHaveLength(4)
  })
})

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { apportionWhole, microbatchSaving, shareFractions } from './microbatch.ts'
import { decodeLeverSavings, encodeLeverSavings } from './savings.ts'

describe('shareFractions', () => {
  it('splits by weight and adds up to 1; equal shares when no weight is positive', () => {
    expect(shareFractions([1, 3])).toEqual([0.25, 0.75])
    expect(shareFractions([0, 0, 0])).toEqual([1 / 3, 1 / 3, 1 / 3])
    expect(shareFractions([-2, Number.NaN, 4])).toEqual([0, 0, 1])
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1 }), (w) => {
        const f = shareFractions(w)
        expect(f.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 9)
        f.forEach((x) => expect(x).toBeGreaterThanOrEqual(0))
      }),
    )
  })
})

describe('apportionWhole', () => {
  it('gives whole numbers that add up to the total, each within 1 of its exact share', () => {
    expect(apportionWhole(10, [1, 1, 1])).toEqual([4, 3, 3])
    expect(apportionWhole(7, [2, 5])).toEqual([2, 5])
    expect(apportionWhole(5, [])).toEqual([])
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 64 }),
        (total, w) => {
          const parts = apportionWhole(total, w)
          expect(parts.reduce((s, x) => s + x, 0)).toBe(total)
          const exact = shareFractions(w).map((f) => f * total)
          parts.forEach((p, i) => {
            expect(Number.isInteger(p)).toBe(true)
            expect(Math.abs(p - (exact[i] as number))).toBeLessThan(1)
          })
        },
      ),
    )
  })
})

describe('microbatchSaving', () => {
  it('is alone minus share, floored at 0, with the interval of the difference', () => {
    const s = microbatchSaving({
      alone: { value: 10, low: 8, high: 13 },
      share: { value: 4, low: 3, high: 5 },
      pue: 1.5,
      intensityGPerKwh: 360,
    })
    expect(s).toEqual({
      lever: 'microbatch',
      energy_saved_j: 6,
      energy_saved_low_j: 3,
      energy_saved_high_j: 10,
      carbon_saved_g: (6 * 1.5 * 360) / 3_600_000,
      basis: 'estimated-counterfactual',
    })
    const none = microbatchSaving({
      alone: { value: 2, low: 1, high: 3 },
      share: { value: 5, low: 4, high: 6 },
      pue: 1,
      intensityGPerKwh: 100,
    })
    expect([none.energy_saved_j, none.energy_saved_low_j, none.energy_saved_high_j]).toEqual([
      0, 0, 0,
    ])
    expect(decodeLeverSavings(encodeLeverSavings([s]) as string)).toEqual([s])
  })
})

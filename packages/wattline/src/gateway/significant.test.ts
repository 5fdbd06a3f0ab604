import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sixSignificant } from './significant.ts'

const reference = (x: number): number => Number(x.toPrecision(6))

describe('sixSignificant', () => {
  it('is Number(x.toPrecision(6)) bit for bit on arbitrary doubles', () => {
    fc.assert(
      fc.property(fc.double(), (x) => {
        expect(Object.is(sixSignificant(x), reference(x)) || Number.isNaN(x)).toBe(true)
      }),
      { numRuns: 200_000 },
    )
  })

  it('agrees across every decade of the fast path, ties and decade edges included', () => {
    const xs: number[] = [
      0, -0, 1, 0.5, 56, 1e-16, 9.99999e-17, 1e21, 2e21, 123456.5, 1234565, 99999.95,
    ]
    xs.push(999999.5, 9.999995, 9.9999949999, 1.0000005, 0.1234565, 2.5e-6, 0.000123456789)
    for (let e = -17; e <= 22; e++) {
      for (const m of [1, 1.5, 1.234565, 9.999995, 9.9999949, 9.99999500001, 3.14159265]) {
        xs.push(m * 10 ** e, -m * 10 ** e, Number(`${String(m)}e${String(e)}`))
      }
    }
    for (let i = 0; i < 200_000; i++) {
      // 7-digit decimals: every one a tie candidate at the 6th digit
      const v =
        Math.floor(Math.random() * 9_000_000 + 1_000_000) / 10 ** Math.floor(Math.random() * 20)
      xs.push(v, v * 1e-10)
    }
    for (const x of xs) expect(Object.is(sixSignificant(x), reference(x)), String(x)).toBe(true)
    expect(sixSignificant(Number.NaN)).toBeNaN()
    expect(sixSignificant(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY)
  })
})

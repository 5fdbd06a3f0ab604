import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  evalDecay,
  fitDecayCurve,
  fitLinearCurve,
  leastAbsoluteDeviations,
  leastSquares,
  quantile,
  rmsLogError,
} from './curve-fit.ts'

const BATCHES = [8, 16, 32, 64, 128, 256, 512]

describe('fitDecayCurve', () => {
  it('recovers a known c + a·b^-k curve', () => {
    const truth = { a: 5, k: 0.7, c: 0.05 }
    const points = BATCHES.map((x) => ({ x, y: evalDecay(truth, x) }))
    const fit = fitDecayCurve(points)
    expect(fit.k).toBeCloseTo(0.7, 2)
    expect(fit.a).toBeCloseTo(5, 1)
    expect(fit.c).toBeCloseTo(0.05, 2)
    expect(rmsLogError(points, (b) => evalDecay(fit, b))).toBeLessThan(1e-3)
  })

  it('keeps coefficients non-negative and k within [0.2, 1] for any positive data', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.001, max: 100, noNaN: true }), { minLength: 4, maxLength: 7 }),
        (ys) => {
          const fit = fitDecayCurve(ys.map((y, i) => ({ x: BATCHES[i] ?? 1, y })))
          expect(fit.a).toBeGreaterThanOrEqual(0)
          expect(fit.c).toBeGreaterThanOrEqual(0)
          expect(fit.k).toBeGreaterThanOrEqual(0.2)
          expect(fit.k).toBeLessThanOrEqual(1)
        },
      ),
      { numRuns: 30 },
    )
  })

  it('fixes k = 1 with fewer than four batch sizes and is flat for one point', () => {
    expect(
      fitDecayCurve([
        { x: 8, y: 1 },
        { x: 16, y: 0.6 },
      ]).k,
    ).toBe(1)
    expect(fitDecayCurve([{ x: 8, y: 2 }])).toEqual({ a: 0, k: 1, c: 2 })
    expect(() => fitDecayCurve([])).toThrow(RangeError)
  })
})

describe('fitLinearCurve, leastSquares, quantile', () => {
  it('recovers a line', () => {
    const fit = fitLinearCurve(BATCHES.map((x) => ({ x, y: 10 + 0.1 * x })))
    expect(fit.t0).toBeCloseTo(10, 3)
    expect(fit.t1).toBeCloseTo(0.1, 5)
  })

  it('solves an exact linear system', () => {
    const X = [
      [1, 0, 2],
      [1, 1, 0],
      [1, 2, 1],
      [1, 3, 5],
    ]
    const theta = [0.5, -2, 3]
    const y = X.map((r) => r.reduce((s, v, i) => s + v * (theta[i] ?? 0), 0))
    leastSquares(X, y).forEach((v, i) => expect(v).toBeCloseTo(theta[i] ?? 0, 6))
  })

  it('interpolates quantiles', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantile([3, 1, 2], 1)).toBe(3)
    expect(Number.isNaN(quantile([], 0.5))).toBe(true)
  })
})

describe('leastAbsoluteDeviations', () => {
  it('fits the bulk of the points where one far-off point drags least squares', () => {
    const X = Array.from({ length: 21 }, (_, i) => [1, i])
    const y = X.map(([, x]) => 2 + 0.5 * (x ?? 0))
    y[20] = 100
    const ols = leastSquares(X, y)
    const lad = leastAbsoluteDeviations(X, y)
    expect(Math.abs((lad[1] ?? 0) - 0.5)).toBeLessThan(0.01)
    expect(Math.abs((ols[1] ?? 0) - 0.5)).toBeGreaterThan(0.5)
    expect(lad[0]).toBeCloseTo(2, 1)
  })
})

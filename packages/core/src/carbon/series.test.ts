import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { gramsPerKwh, instant, ms } from '../units/quantity.ts'
import type { IntensityPoint } from './intensity.ts'
import { buildSeries, greenestWindow, meanOver, valueAt } from './series.ts'

const H = 3_600_000

function pt(hour: number, value: number, extra: Partial<IntensityPoint> = {}): IntensityPoint {
  return {
    zone: 'DE',
    at: instant(hour * H),
    intensity: gramsPerKwh(value),
    signal: 'average',
    source: 'test',
    forecast: false,
    stale: false,
    ...extra,
  }
}

describe('intensity series', () => {
  const points = [pt(2, 300), pt(0, 100), pt(1, 200), pt(3, 50, { forecast: true })]

  it('sorts points and looks values up with step semantics', () => {
    const s = buildSeries(points)
    expect(s.points.map((p) => p.at)).toEqual([0, H, 2 * H, 3 * H])
    expect(valueAt(s, instant(1.5 * H))?.intensity).toBe(200)
    expect(valueAt(s, instant(3.9 * H))).toMatchObject({ intensity: 50, forecast: true })
    expect(valueAt(s, instant(4 * H))).toBeUndefined()
    expect(valueAt(s, instant(-1))).toBeUndefined()
  })

  it('interpolates linearly between neighbours and carries their flags', () => {
    const s = buildSeries(points, { interpolation: 'linear' })
    expect(valueAt(s, instant(1.5 * H))?.intensity).toBeCloseTo(250)
    const v = valueAt(s, instant(2.5 * H))
    expect(v?.intensity).toBeCloseTo(175)
    expect(v?.forecast).toBe(true)
  })

  it('prefers an actual over a forecast at the same instant', () => {
    const s = buildSeries([pt(0, 999, { forecast: true }), pt(0, 100), pt(1, 100)])
    expect(s.points).toHaveLength(2)
    expect(s.points[0]?.intensity).toBe(100)
  })

  it('means over a window, time-weighted, and refuses partial coverage', () => {
    const s = buildSeries(points)
    expect(meanOver(s, instant(0), instant(2 * H))?.intensity).toBeCloseTo(150)
    expect(meanOver(s, instant(0.5 * H), instant(1.5 * H))?.intensity).toBeCloseTo(150)
    expect(meanOver(s, instant(0), instant(5 * H))).toBeUndefined()
    const lin = buildSeries(points, { interpolation: 'linear' })
    expect(meanOver(lin, instant(0), instant(H))?.intensity).toBeCloseTo(150)
  })

  it('finds the greenest window before a deadline', () => {
    const s = buildSeries([pt(0, 400), pt(1, 300), pt(2, 100), pt(3, 120), pt(4, 500), pt(5, 80)])
    const w = greenestWindow(s, {
      duration: ms(2 * H),
      earliest: instant(0),
      deadline: instant(5 * H),
    })
    expect(w).toMatchObject({ start: 2 * H, end: 4 * H })
    expect(w?.intensity).toBeCloseTo(110)
    const later = greenestWindow(s, {
      duration: ms(H),
      earliest: instant(0),
      deadline: instant(6 * H),
    })
    expect(later?.start).toBe(5 * H)
    expect(
      greenestWindow(s, { duration: ms(7 * H), earliest: instant(0), deadline: instant(9 * H) }),
    ).toBeUndefined()
  })

  it('rejects empty input and mixed zones', () => {
    expect(() => buildSeries([])).toThrow(/no points/)
    expect(() => buildSeries([pt(0, 1), pt(1, 1, { zone: 'FR' })])).toThrow(/mixes zones/)
  })

  it('property: the greenest window mean is no higher than any aligned window mean', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 3, maxLength: 30 }),
        fc.integer({ min: 1, max: 3 }),
        (values, len) => {
          fc.pre(len <= values.length)
          const s = buildSeries(values.map((v, i) => pt(i, v)))
          const deadline = instant(values.length * H)
          const best = greenestWindow(s, { duration: ms(len * H), earliest: instant(0), deadline })
          expect(best).toBeDefined()
          for (let i = 0; i + len <= values.length; i++) {
            const m = meanOver(s, instant(i * H), instant((i + len) * H))
            expect((best?.intensity ?? Infinity) <= (m?.intensity ?? -1) + 1e-9).toBe(true)
          }
        },
      ),
      { numRuns: 200 },
    )
  })

  it('property: the mean lies between the minimum and maximum value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 2, maxLength: 40 }),
        fc.boolean(),
        (values, linear) => {
          const s = buildSeries(
            values.map((v, i) => pt(i, v)),
            { interpolation: linear ? 'linear' : 'step' },
          )
          const m = meanOver(s, instant(0), instant(values.length * H))
          expect(m?.intensity).toBeGreaterThanOrEqual(Math.min(...values) - 1e-9)
          expect(m?.intensity).toBeLessThanOrEqual(Math.max(...values) + 1e-9)
        },
      ),
    )
  })
})

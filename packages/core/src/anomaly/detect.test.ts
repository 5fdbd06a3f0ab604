import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { bucketMeans, detectAnomalies, type SeriesPoint } from './detect.ts'
import { median, medianAbsoluteDeviation } from './robust-stats.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = Date.UTC(2025, 2, 3) // a Monday, 00:00 UTC

/** Deterministic noise in [-1, 1) from a linear congruential generator. */
function noise(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return (s / 2 ** 32) * 2 - 1
  }
}

/** Hourly power of a backend with a strong daily rhythm: 200 W at night, ~600 W mid-afternoon, ±4 % noise. */
function seasonalSeries(days: number, seed = 7): SeriesPoint[] {
  const n = noise(seed)
  const out: SeriesPoint[] = []
  for (let h = 0; h < days * 24; h++) {
    const hourOfDay = h % 24
    const base = 400 - 200 * Math.cos((2 * Math.PI * (hourOfDay - 3)) / 24)
    out.push({ at_ms: T0 + h * HOUR, value: base * (1 + 0.04 * n()) })
  }
  return out
}

const power = { kind: 'backend_power', subject: 'paris' } as const

describe('robust statistics', () => {
  it('takes the median of odd and even lists without reordering the input', () => {
    const xs = [5, 1, 3]
    expect(median(xs)).toBe(3)
    expect(xs).toEqual([5, 1, 3])
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([])).toBeNaN()
  })

  it('is barely moved by one wild value, unlike the mean', () => {
    expect(medianAbsoluteDeviation([10, 11, 9, 10, 1000])).toBe(1)
  })
})

describe('detectAnomalies', () => {
  it('flags nothing on three weeks of a seasonal series without anomalies', () => {
    expect(detectAnomalies(seasonalSeries(21), power)).toEqual([])
  })

  it('finds injected spikes and drops, with the expected value and interval', () => {
    const series = seasonalSeries(21)
    const spikeAt = 18 * 24 + 14 // day 18, 14:00 (peak hour, ~600 W)
    const dropAt = 19 * 24 + 3 // day 19, 03:00 (night, ~200 W)
    const spiked = series.map((p, i) =>
      i === spikeAt
        ? { ...p, value: p.value * 1.5 }
        : i === dropAt
          ? { ...p, value: p.value * 0.4 }
          : p,
    )
    const found = detectAnomalies(spiked, power)
    expect(found.map((a) => [a.at_ms, a.direction])).toEqual([
      [T0 + spikeAt * HOUR, 'high'],
      [T0 + dropAt * HOUR, 'low'],
    ])
    const [spike, drop] = found
    expect(spike?.expected).toBeGreaterThan(570)
    expect(spike?.expected).toBeLessThan(630)
    expect(spike?.value).toBeGreaterThan(spike?.expected_high ?? Infinity)
    expect(drop?.value).toBeLessThan(drop?.expected_low ?? -Infinity)
    expect(spike?.unit).toBe('W')
    expect(spike?.history).toBe(14)
    expect(spike?.reason).toMatch(/power of paris was \d+ W, above the normal range/)
    expect(spike?.reason).toMatch(/same time of day/)
  })

  it('catches a night-time value that is only normal at the afternoon peak (seasonal awareness)', () => {
    const series = seasonalSeries(14)
    const at = 12 * 24 + 3 // 03:00, normally ~200 W
    const odd = series.map((p, i) => (i === at ? { ...p, value: 560 } : p))
    expect(detectAnomalies(odd, power).map((a) => a.at_ms)).toEqual([T0 + at * HOUR])
    // A detector without seasonality over the last week sees 560 W as ordinary.
    const flat = detectAnomalies(odd, power, { periodMs: 0, window: 168, minHistory: 48 })
    expect(flat.map((a) => a.at_ms)).not.toContain(T0 + at * HOUR)
  })

  it('judges nothing before the minimum history is reached', () => {
    const series = seasonalSeries(10)
    const early = series.map((p, i) => (i === 3 * 24 + 10 ? { ...p, value: p.value * 5 } : p))
    expect(detectAnomalies(early, power)).toEqual([])
    expect(detectAnomalies(early, power, { minHistory: 3 })).toHaveLength(1)
  })

  it('keeps flagged points out of the baseline, so a sustained fault stays flagged', () => {
    const series = seasonalSeries(21)
    const broken = series.map((p, i) =>
      i >= 10 * 24 && i % 24 === 12 ? { ...p, value: p.value * 2 } : p,
    )
    const found = detectAnomalies(broken, power)
    expect(found).toHaveLength(11)
    expect(found.every((a) => new Date(a.at_ms).getUTCHours() === 12)).toBe(true)
  })

  it('ignores non-finite values and accepts unsorted input', () => {
    const series = seasonalSeries(8)
    const spikeAt = 7 * 24 + 5
    const shuffled = [...series]
      .map((p, i) => (i === spikeAt ? { ...p, value: p.value * 3 } : p))
      .reverse()
    shuffled.push({ at_ms: T0 + 9 * DAY, value: Number.NaN })
    expect(detectAnomalies(shuffled, power).map((a) => a.at_ms)).toEqual([T0 + spikeAt * HOUR])
  })

  it('rejects impossible options with the option named', () => {
    expect(() => detectAnomalies([], power, { threshold: 0 })).toThrow(/threshold/)
    expect(() => detectAnomalies([], power, { bucketMs: -1 })).toThrow(/bucketMs/)
    expect(() => detectAnomalies([], power, { minHistory: 20, window: 10 })).toThrow(/minHistory/)
  })

  it('never flags values within the spread floor of each hour baseline (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1, max: 1000, noNaN: true }), { minLength: 24, maxLength: 24 }),
        fc.array(fc.double({ min: -0.08, max: 0.08, noNaN: true }), {
          minLength: 240,
          maxLength: 240,
        }),
        (baseByHour, jitter) => {
          const series = jitter.map((j, h) => ({
            at_ms: T0 + h * HOUR,
            value: (baseByHour[h % 24] ?? 1) * (1 + j),
          }))
          return detectAnomalies(series, power).length === 0
        },
      ),
      { numRuns: 60 },
    )
  })
})

describe('bucketMeans', () => {
  it('averages samples per aligned bucket, in time order', () => {
    const pts = [
      { at_ms: T0 + HOUR + 10, value: 4 },
      { at_ms: T0 + 5, value: 1 },
      { at_ms: T0 + 50, value: 3 },
      { at_ms: T0 + HOUR + 20, value: Number.POSITIVE_INFINITY },
    ]
    expect(bucketMeans(pts, HOUR)).toEqual([
      { at_ms: T0, value: 2, count: 2 },
      { at_ms: T0 + HOUR, value: 4, count: 1 },
    ])
    expect(() => bucketMeans(pts, 0)).toThrow(/bucketMs/)
  })
})

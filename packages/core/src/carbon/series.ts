/**
 * @module carbon/series
 * An intensity time series: lookup at a time (step or linear interpolation), time-weighted mean
 * over a window, and the greenest window of a given length before a deadline. Every derived value
 * keeps the flags of the points it came from: `forecast` and `stale` are true if any contributing
 * point was, so a mean over forecasts is never presented as an actual.
 */
import { WattlineError } from '../errors.ts'
import {
  gramsPerKwh,
  instant,
  ms,
  type GramsPerKwh,
  type Instant,
  type Milliseconds,
} from '../units/quantity.ts'
import type { IntensityPoint } from './intensity.ts'

/** `step`: a value holds until the next point. `linear`: straight line between neighbours. */
export const INTERPOLATIONS = ['step', 'linear'] as const
export type Interpolation = (typeof INTERPOLATIONS)[number]

export interface IntensitySeries {
  readonly zone: string
  /** Sorted by `at`, one point per instant. */
  readonly points: readonly IntensityPoint[]
  readonly interpolation: Interpolation
  /** How long the last point holds (the series' typical spacing). */
  readonly resolution: Milliseconds
}

export interface BuildSeriesOptions {
  readonly interpolation?: Interpolation
  /** How long the last point holds; defaults to the median spacing of the points (1 h for one point). */
  readonly resolution?: Milliseconds
}

/** A value derived from a series, with the flags of the points that produced it. */
export interface SeriesValue {
  readonly intensity: GramsPerKwh
  readonly forecast: boolean
  readonly stale: boolean
  /** Distinct sources of the contributing points. */
  readonly sources: readonly string[]
}

export interface GreenestWindow extends SeriesValue {
  readonly start: Instant
  readonly end: Instant
}

const HOUR = 3_600_000

/**
 * Builds a series from points of one zone. Sorts them; where two points share an instant, an actual
 * beats a forecast and a fresh value beats a stale one. Throws `WL_INVALID_INPUT` for mixed zones.
 */
export function buildSeries(
  points: readonly IntensityPoint[],
  options: BuildSeriesOptions = {},
): IntensitySeries {
  const first = points[0]
  if (first === undefined) {
    throw new WattlineError(
      'WL_NO_INTENSITY_DATA',
      'cannot build an intensity series from no points',
    )
  }
  const mixed = points.find((p) => p.zone !== first.zone)
  if (mixed !== undefined) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `series mixes zones ${first.zone} and ${mixed.zone}`,
    )
  }
  const byTime = new Map<number, IntensityPoint>()
  for (const p of points) {
    const existing = byTime.get(p.at)
    if (existing === undefined || rank(p) < rank(existing)) byTime.set(p.at, p)
  }
  const sorted = [...byTime.values()].sort((a, b) => a.at - b.at)
  return {
    zone: first.zone,
    points: sorted,
    interpolation: options.interpolation ?? 'step',
    resolution: options.resolution ?? medianSpacing(sorted),
  }
}

/** First instant the series covers and the end of the last point's interval. */
export function seriesCoverage(series: IntensitySeries): {
  readonly from: Instant
  readonly to: Instant
} {
  const first = series.points[0] as IntensityPoint
  const last = series.points[series.points.length - 1] as IntensityPoint
  return { from: first.at, to: instant(last.at + series.resolution) }
}

/** The value at `at`, or `undefined` outside the series' coverage. */
export function valueAt(series: IntensitySeries, at: Instant): SeriesValue | undefined {
  const { from, to } = seriesCoverage(series)
  if (at < from || at >= to) return undefined
  const i = indexAtOrBefore(series.points, at)
  const p = series.points[i] as IntensityPoint
  const next = series.points[i + 1]
  if (series.interpolation === 'step' || next === undefined || p.at === at) return single(p)
  const f = (at - p.at) / (next.at - p.at)
  return combine([p, next], p.intensity + f * (next.intensity - p.intensity))
}

/**
 * Time-weighted mean intensity over [from, to), or `undefined` when the series does not cover the
 * whole window (a partial mean would understate or overstate the window).
 */
export function meanOver(
  series: IntensitySeries,
  from: Instant,
  to: Instant,
): SeriesValue | undefined {
  const coverage = seriesCoverage(series)
  if (to <= from || from < coverage.from || to > coverage.to) return undefined
  let integral = 0
  const used: IntensityPoint[] = []
  const pts = series.points
  for (let i = indexAtOrBefore(pts, from); i < pts.length; i++) {
    const p = pts[i] as IntensityPoint
    if (p.at >= to) break
    const next = pts[i + 1]
    const segEnd = next?.at ?? coverage.to
    const a = Math.max(p.at, from)
    const b = Math.min(segEnd, to)
    if (b <= a) continue
    used.push(p)
    if (series.interpolation === 'linear' && next !== undefined) {
      const at = (t: number): number =>
        p.intensity + ((t - p.at) / (next.at - p.at)) * (next.intensity - p.intensity)
      integral += ((at(a) + at(b)) / 2) * (b - a)
      used.push(next)
    } else {
      integral += p.intensity * (b - a)
    }
  }
  return combine(used, integral / (to - from))
}

/**
 * The window of `duration` with the lowest mean intensity that starts at or after `earliest` and
 * ends by `deadline`. Candidate starts are `earliest` and every point boundary in range; ties go
 * to the earlier start. `undefined` when no fully covered window fits.
 */
export function greenestWindow(
  series: IntensitySeries,
  options: {
    readonly duration: Milliseconds
    readonly earliest: Instant
    readonly deadline: Instant
  },
): GreenestWindow | undefined {
  const { duration, earliest, deadline } = options
  if (duration <= 0) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `window duration must be positive, got ${duration} ms`,
    )
  }
  const starts = new Set<number>([earliest])
  for (const p of series.points) if (p.at > earliest) starts.add(p.at)
  for (const p of series.points) if (p.at - duration > earliest) starts.add(p.at - duration)
  let best: GreenestWindow | undefined
  for (const s of [...starts].sort((a, b) => a - b)) {
    const end = s + duration
    if (end > deadline) continue
    const mean = meanOver(series, instant(s), instant(end))
    if (mean === undefined) continue
    if (best === undefined || mean.intensity < best.intensity - 1e-9) {
      best = { ...mean, start: instant(s), end: instant(end) }
    }
  }
  return best
}

function rank(p: IntensityPoint): number {
  return (p.forecast ? 2 : 0) + (p.stale ? 1 : 0)
}

function medianSpacing(points: readonly IntensityPoint[]): Milliseconds {
  const gaps: number[] = []
  for (let i = 1; i < points.length; i++)
    gaps.push((points[i] as IntensityPoint).at - (points[i - 1] as IntensityPoint).at)
  if (gaps.length === 0) return ms(HOUR)
  gaps.sort((a, b) => a - b)
  return ms(gaps[Math.floor(gaps.length / 2)] as number)
}

/** Index of the last point with `at <= t` (0 when `t` precedes every point). */
function indexAtOrBefore(points: readonly IntensityPoint[], t: number): number {
  let lo = 0
  let hi = points.length - 1
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if ((points[mid] as IntensityPoint).at <= t) lo = mid
    else hi = mid - 1
  }
  return lo
}

function single(p: IntensityPoint): SeriesValue {
  return { intensity: p.intensity, forecast: p.forecast, stale: p.stale, sources: [p.source] }
}

function combine(points: readonly IntensityPoint[], value: number): SeriesValue {
  return {
    intensity: gramsPerKwh(value),
    forecast: points.some((p) => p.forecast),
    stale: points.some((p) => p.stale),
    sources: [...new Set(points.map((p) => p.source))],
  }
}

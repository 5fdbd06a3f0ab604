/**
 * @module adapters/carbon/point-store
 * In-memory intensity points per zone, as loaded from data files, answering the two port queries.
 * Shared by the file sources (Electricity Maps CSV, WattTime CSV, generic CSV/JSON).
 */
import {
  closeMatches,
  instant,
  WattlineError,
  type Instant,
  type IntensityPoint,
} from '@wattline/core'

export interface PointStore {
  readonly zones: readonly string[]
  /** The canonical zone for a user's spelling (case-insensitive, plus aliases), or throws WL_UNKNOWN_ZONE. */
  zoneOf(zone: string): string
  intensityAt(zone: string, at: Instant): IntensityPoint
  series(zone: string, from: Instant, to: Instant): readonly IntensityPoint[]
}

/** Default time a point holds when a zone has a single point, ms. */
const DEFAULT_RESOLUTION_MS = 3_600_000

/**
 * Builds a store from points (any order, several zones). Where two points share zone and instant,
 * an actual beats a forecast. A point holds until the next one, and the last for the zone's median
 * spacing. `aliases` maps other spellings (upper-case) to a zone.
 */
export function createPointStore(
  points: readonly IntensityPoint[],
  label: string,
  aliases: Readonly<Record<string, string>> = {},
): PointStore {
  const byZone = new Map<string, Map<number, IntensityPoint>>()
  for (const p of points) {
    let m = byZone.get(p.zone)
    if (m === undefined) byZone.set(p.zone, (m = new Map()))
    const existing = m.get(p.at)
    if (existing === undefined || (existing.forecast && !p.forecast)) m.set(p.at, p)
  }
  const sorted = new Map<string, { points: IntensityPoint[]; resolution: number }>()
  for (const [zone, m] of byZone) {
    const list = [...m.values()].sort((a, b) => a.at - b.at)
    sorted.set(zone, { points: list, resolution: medianSpacing(list) })
  }
  const zones = [...sorted.keys()].sort()

  function zoneOf(zone: string): string {
    const wanted = zone.trim().toUpperCase()
    const hit = zones.find((z) => z.toUpperCase() === wanted) ?? aliases[wanted]
    if (hit !== undefined && sorted.has(hit)) return hit
    const matches = closeMatches(zone, zones)
    const hint = matches.length > 0 ? `; did you mean ${matches.join(', ')}?` : ''
    throw new WattlineError(
      'WL_UNKNOWN_ZONE',
      `zone "${zone}" is not in ${label} (it has ${zones.join(', ') || 'no zones'})${hint}`,
      { details: { zone, matches } },
    )
  }

  function data(zone: string): { points: IntensityPoint[]; resolution: number } {
    return sorted.get(zoneOf(zone)) as { points: IntensityPoint[]; resolution: number }
  }

  return {
    zones,
    zoneOf,
    intensityAt(zone: string, at: Instant): IntensityPoint {
      const d = data(zone)
      const i = lastAtOrBefore(d.points, at)
      const p = i >= 0 ? d.points[i] : undefined
      if (p === undefined || at >= p.at + holdOf(d, i)) {
        const first = d.points[0] as IntensityPoint
        const last = d.points[d.points.length - 1] as IntensityPoint
        throw new WattlineError(
          'WL_NO_INTENSITY_DATA',
          `${label} has no ${first.zone} value at ${new Date(at).toISOString()} (it covers ${new Date(first.at).toISOString()} to ${new Date(last.at + d.resolution).toISOString()})`,
          { details: { zone: first.zone, at } },
        )
      }
      return p
    },
    series(zone: string, from: Instant, to: Instant): readonly IntensityPoint[] {
      const d = data(zone)
      if (to <= from) return []
      const i = lastAtOrBefore(d.points, from)
      const out: IntensityPoint[] = []
      const covering = i >= 0 ? d.points[i] : undefined
      if (covering !== undefined && covering.at < from && from < covering.at + holdOf(d, i)) {
        out.push(covering)
      }
      for (let k = Math.max(i, 0); k < d.points.length; k++) {
        const p = d.points[k] as IntensityPoint
        if (p.at >= to) break
        if (p.at >= from) out.push(p)
      }
      return out
    },
  }
}

/** How long point `i` holds: until the next point, or the zone's resolution for the last one. */
function holdOf(d: { points: IntensityPoint[]; resolution: number }, i: number): number {
  const p = d.points[i] as IntensityPoint
  const next = d.points[i + 1]
  return next === undefined ? d.resolution : next.at - p.at
}

function lastAtOrBefore(points: readonly IntensityPoint[], t: number): number {
  let lo = 0
  let hi = points.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if ((points[mid] as IntensityPoint).at <= t) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

function medianSpacing(points: readonly IntensityPoint[]): number {
  const gaps: number[] = []
  for (let i = 1; i < points.length; i++) {
    gaps.push((points[i] as IntensityPoint).at - (points[i - 1] as IntensityPoint).at)
  }
  if (gaps.length === 0) return DEFAULT_RESOLUTION_MS
  gaps.sort((a, b) => a - b)
  return gaps[Math.floor(gaps.length / 2)] as number
}

/**
 * Parses a timestamp: ISO 8601 `YYYY-MM-DD[T ]HH:MM[:SS[.fff]]` with `Z`, `±HH:MM` or no offset
 * (read as UTC, as the Electricity Maps and WattTime exports are). `undefined` if malformed.
 */
export function parseTimestamp(text: string): Instant | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      text.trim(),
    )
  if (m === null) return undefined
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', tz] = m
  const millis = Math.round(Number(`0.${frac}`) * 1000)
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), millis)
  const check = new Date(t)
  if (check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return undefined
  }
  if (tz !== undefined && tz.toUpperCase() !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1
    const digits = tz.slice(1).replace(':', '')
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
  }
  return instant(t)
}

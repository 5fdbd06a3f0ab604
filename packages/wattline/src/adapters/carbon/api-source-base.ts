/**
 * @module adapters/carbon/api-source-base
 * What the API sources share: a value in force at an instant from a fetched series, the port's
 * `series` over a fetched window, merging measured and forecast points, and the error discipline
 * (everything but an unknown zone becomes `WL_CARBON_SOURCE_UNAVAILABLE`).
 */
import type { CarbonIntensitySource, WattlineError } from '@wattline/core'
import { hasCode, type Instant, type IntensityPoint } from '@wattline/core'
import { unavailable } from './http-json.ts'

/** How an API source fetches the points of `zone` around [from, to): sorted, not yet clipped. */
export type FetchWindow = (
  zone: string,
  from: Instant,
  to: Instant,
  signal?: AbortSignal,
) => Promise<readonly IntensityPoint[]>

/** The port's `series` over `window`: nothing for an empty range, else the window clipped to it. */
export function clippedSeries(name: string, window: FetchWindow): CarbonIntensitySource['series'] {
  return (zone, from, to, signal) => {
    if (to <= from) return Promise.resolve([])
    return guarded(name, async () => clip(await window(zone, from, to, signal), from, to))
  }
}

/** The point in force at `at` (see `pointInForce`), or `WL_CARBON_SOURCE_UNAVAILABLE` (no value). */
export function valueInForce(
  name: string,
  zone: string,
  points: readonly IntensityPoint[],
  at: Instant,
  holdMs: number,
): IntensityPoint {
  const p = pointInForce(points, at, holdMs)
  if (p === undefined) throw noValueAt(name, zone, at)
  return p
}

/**
 * One point per instant, in time order: a measured point replaces whatever came before it at the
 * same instant, a forecast only fills an instant nothing else covers.
 */
export function preferMeasured(points: readonly IntensityPoint[]): IntensityPoint[] {
  const byTime = new Map<number, IntensityPoint>()
  for (const p of points) if (!byTime.has(p.at) || !p.forecast) byTime.set(p.at, p)
  return [...byTime.values()].sort((a, b) => a.at - b.at)
}

/** The point in force at `at` among sorted points (each holds until the next, the last for `holdMs`). */
export function pointInForce(
  points: readonly IntensityPoint[],
  at: Instant,
  holdMs: number,
): IntensityPoint | undefined {
  let found: IntensityPoint | undefined
  for (const p of points) if (p.at <= at) found = p
  if (found === undefined) return undefined
  const next = points.find((p) => p.at > found.at)
  return at < (next?.at ?? found.at + holdMs) ? found : undefined
}

/** Points overlapping [from, to): the one in force at `from` plus those starting inside. */
export function clip(
  points: readonly IntensityPoint[],
  from: Instant,
  to: Instant,
): IntensityPoint[] {
  if (to <= from) return []
  const sorted = [...points].sort((a, b) => a.at - b.at)
  const inside = sorted.filter((p) => p.at >= from && p.at < to)
  const before = sorted.filter((p) => p.at < from).pop()
  const covering = before !== undefined && !sorted.some((p) => p.at > before.at && p.at <= from)
  return covering && (inside[0]?.at ?? Infinity) > from ? [before, ...inside] : inside
}

/** Runs `f`, passing `WL_UNKNOWN_ZONE` / `WL_CARBON_SOURCE_UNAVAILABLE` through and wrapping the rest. */
export async function guarded<T>(source: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (error) {
    if (hasCode(error, 'WL_UNKNOWN_ZONE') || hasCode(error, 'WL_CARBON_SOURCE_UNAVAILABLE'))
      throw error
    throw unavailable(source, error instanceof Error ? error.message : String(error), error)
  }
}

/** `WL_CARBON_SOURCE_UNAVAILABLE`: the provider answered but has no value for that instant. */
export function noValueAt(source: string, zone: string, at: Instant): WattlineError {
  return unavailable(source, `no value for ${zone} at ${new Date(at).toISOString()}`)
}

/**
 * @module sim/intensity-steps
 * Turns a carbon-intensity source into the step lookup the replay engine and the oracle read: each
 * zone's points over the replay window, each value holding until the next point. The arrival window
 * must be covered (else `WL_NO_INTENSITY_DATA` naming zone, source and both windows); past the last
 * point, which only the tail of the last requests can reach, the last value holds.
 */
import {
  buildSeries,
  seriesCoverage,
  WattlineError,
  instant,
  type CarbonIntensitySource,
  type IntensityLookup,
} from '@wattline/core'

/** A zone's steps: value[i] holds over [at[i], at[i+1]). */
export interface ZoneSteps {
  readonly at: Float64Array
  readonly value: Float64Array
  readonly source: string
}

export interface IntensitySteps {
  readonly lookup: IntensityLookup
  readonly zones: ReadonlyMap<string, ZoneSteps>
}

const HOUR = 3_600_000

/** Loads the steps of `zones` covering at least [from, to] (epoch ms) from `source`. */
export async function loadIntensitySteps(
  source: CarbonIntensitySource,
  zones: readonly string[],
  from: number,
  to: number,
): Promise<IntensitySteps> {
  const map = new Map<string, ZoneSteps>()
  for (const zone of [...new Set(zones)].sort()) {
    // One hour of margin each side: the point in force at `from` may start before it.
    const points = await source.series(zone, instant(from - HOUR), instant(to + 6 * HOUR))
    const window = `${iso(from)} – ${iso(to)}`
    if (points.length === 0) {
      throw new WattlineError(
        'WL_NO_INTENSITY_DATA',
        `${source.name} has no intensity for zone ${zone} during the replay (${window}); place the trace inside the data with --start`,
        { details: { zone, source: source.name, from: iso(from), to: iso(to) } },
      )
    }
    const series = buildSeries(points, { interpolation: 'step' })
    const cover = seriesCoverage(series)
    if (cover.from > from || cover.to < to) {
      throw new WattlineError(
        'WL_NO_INTENSITY_DATA',
        `${source.name} covers zone ${zone} only from ${iso(cover.from)} to ${iso(cover.to)}, but the trace runs ${window}; place it inside the data with --start`,
        { details: { zone, source: source.name, from: iso(from), to: iso(to) } },
      )
    }
    map.set(zone, {
      at: Float64Array.from(series.points, (p) => p.at),
      value: Float64Array.from(series.points, (p) => p.intensity),
      source: series.points[0]?.source ?? source.name,
    })
  }
  const lookup: IntensityLookup = (zone, at) => {
    const steps = map.get(zone)
    if (steps === undefined) {
      throw new WattlineError('WL_UNKNOWN_ZONE', `no intensity steps loaded for zone ${zone}`)
    }
    // Last step starting at or before `at` (the first one when `at` precedes every step).
    let lo = 0
    let hi = steps.at.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((steps.at[mid] as number) <= at) lo = mid
      else hi = mid - 1
    }
    const next = steps.at[lo + 1]
    return { intensity: steps.value[lo] as number, until: next ?? Number.POSITIVE_INFINITY }
  }
  return { lookup, zones: map }
}

function iso(t: number): string {
  return new Date(t).toISOString()
}

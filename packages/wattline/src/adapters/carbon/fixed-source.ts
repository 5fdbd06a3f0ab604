/**
 * @module adapters/carbon/fixed-source
 * A `CarbonIntensitySource` of fixed values per zone (`static:FR=50,DE=300` on the command line,
 * `{type: static, values: {FR: 50, DE: 300}}` in the config): the same intensity at every instant,
 * for what-if replays and tests. Series are hourly points on the hour, so a window of any length is
 * covered like a data file would cover it. Never fails for a listed zone, never a forecast.
 */
import {
  closeMatches,
  gramsPerKwh,
  instant,
  WattlineError,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
  type Signal,
} from '@wattline/core'

const HOUR = 3_600_000

export interface FixedSourceOptions {
  /** gCO2e/kWh per zone id (matched case-insensitively). */
  readonly values: Readonly<Record<string, number>>
  readonly signal?: Signal
}

/** Fixed values per zone; `name` is `static:FR=50,DE=300`. */
export function createFixedSource(options: FixedSourceOptions): CarbonIntensitySource {
  const zones = new Map(Object.entries(options.values).map(([z, v]) => [z.toUpperCase(), v]))
  const list = [...zones.keys()]
  const name = `static:${[...zones].map(([z, v]) => `${z}=${v}`).join(',')}`
  const signal = options.signal ?? 'average'

  function point(zone: string, at: number): IntensityPoint {
    const canonical = zone.toUpperCase()
    const value = zones.get(canonical)
    if (value === undefined) {
      const matches = closeMatches(zone, list)
      throw new WattlineError(
        'WL_UNKNOWN_ZONE',
        `${name} has no value for zone "${zone}" (it lists ${list.join(', ')})`,
        { details: { zone, matches } },
      )
    }
    return {
      zone: canonical,
      at: instant(at),
      intensity: gramsPerKwh(value),
      signal,
      source: `${name} (fixed value)`,
      forecast: false,
      stale: false,
      provenance: 'static',
    }
  }

  return {
    name,
    signal,
    intensityAt(zone: string, at: Instant): Promise<IntensityPoint> {
      return attempt(() => point(zone, at - (((at % HOUR) + HOUR) % HOUR)))
    },
    series(zone: string, from: Instant, to: Instant): Promise<readonly IntensityPoint[]> {
      return attempt(() => {
        if (to <= from) return []
        const points: IntensityPoint[] = []
        for (let t = from - (((from % HOUR) + HOUR) % HOUR); t < to; t += HOUR)
          points.push(point(zone, t))
        return points
      })
    },
    zones: () => list,
  }
}

function attempt<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

/**
 * @module adapters/carbon/builtin-source
 * The embedded default `CarbonIntensitySource`: the committed static table (annual mean per zone
 * shaped by a typical hourly profile per month). Needs no network or file, so it never fails for a
 * known zone; it is the last link of every fallback chain.
 */
import {
  BUILTIN_INTENSITY,
  builtinIntensityAt,
  builtinSeries,
  type BuiltinIntensityTable,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
} from '@wattline/core'

/** The built-in static table as a source (`static`); pass another table in tests. */
export function createBuiltinSource(
  table: BuiltinIntensityTable = BUILTIN_INTENSITY,
): CarbonIntensitySource {
  return {
    name: 'static',
    signal: 'average',
    intensityAt(zone: string, at: Instant): Promise<IntensityPoint> {
      return attempt(() => builtinIntensityAt(table, zone, at))
    },
    series(zone: string, from: Instant, to: Instant): Promise<readonly IntensityPoint[]> {
      return attempt(() => builtinSeries(table, zone, from, to))
    },
    zones(): readonly string[] {
      return Object.keys(table.zones)
    },
  }
}

function attempt<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f())
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

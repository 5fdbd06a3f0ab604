/**
 * @module adapters/carbon/uk-carbon-intensity-source
 * National Energy System Operator's Carbon Intensity API for Great Britain
 * (https://api.carbonintensity.org.uk; reference https://carbon-intensity.github.io/api-definitions):
 * - `GET /intensity/{from}/{to}` → `{data: [{from, to, intensity: {forecast, actual, index}}]}` (half-hourly, gCO2/kWh)
 * - `GET /regional/intensity/{from}/{to}/regionid/{id}` → `{data: {regionid, shortname, data: [{from, to, intensity: {forecast, index}}]}}`
 * `actual` is null for periods not yet closed: then the forecast is used and flagged. Zone: GB.
 */
import {
  gramsPerKwh,
  instant,
  WattlineError,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
} from '@wattline/core'
import { clip, guarded, valueInForce } from './api-source-base.ts'
import { array, field, getJson, time, unavailable, type HttpDeps } from './http-json.ts'

export const UK_CARBON_INTENSITY_BASE_URL = 'https://api.carbonintensity.org.uk'
const HALF_HOUR = 1_800_000

export interface UkCarbonIntensityOptions {
  readonly baseUrl?: string
  /** Regional series (1–17) instead of the national one. */
  readonly regionId?: number
}

/** A live average-intensity source for zone GB. */
export function createUkCarbonIntensitySource(
  options: UkCarbonIntensityOptions = {},
  deps: HttpDeps = {},
): CarbonIntensitySource {
  const name =
    options.regionId === undefined
      ? 'uk-carbon-intensity'
      : `uk-carbon-intensity:region-${options.regionId}`
  const base = options.baseUrl ?? UK_CARBON_INTENSITY_BASE_URL

  function checkZone(zone: string): void {
    if (!['GB', 'UK'].includes(zone.toUpperCase())) {
      throw new WattlineError(
        'WL_UNKNOWN_ZONE',
        `the UK Carbon Intensity API covers only GB, not "${zone}"`,
        {
          details: { zone, matches: ['GB'] },
        },
      )
    }
  }

  async function window(
    from: Instant,
    to: Instant,
    signal?: AbortSignal,
  ): Promise<IntensityPoint[]> {
    const iso = (t: number): string => new Date(t).toISOString().slice(0, 16) + 'Z'
    const start = from - (from % HALF_HOUR)
    const path =
      options.regionId === undefined
        ? `/intensity/${iso(start)}/${iso(to)}`
        : `/regional/intensity/${iso(start)}/${iso(to)}/regionid/${options.regionId}`
    const { body } = await getJson(deps, { source: name, url: new URL(path, base), signal })
    const data = (body as { data?: unknown }).data
    const rows =
      options.regionId === undefined ? array(name, body, 'data') : array(name, data, 'data')
    return rows.map((row) => {
      const intensity = (row as { intensity?: unknown }).intensity
      const actual = (intensity as { actual?: unknown } | undefined)?.actual
      const hasActual = typeof actual === 'number' && Number.isFinite(actual)
      const value = hasActual ? actual : field(name, intensity, 'forecast', 'number')
      if (value < 0) throw unavailable(name, `negative intensity ${value}`)
      return {
        zone: 'GB',
        at: instant(time(name, field(name, row, 'from', 'string'))),
        intensity: gramsPerKwh(value),
        signal: 'average' as const,
        source: hasActual ? name : `${name} (forecast)`,
        forecast: !hasActual,
        stale: false,
      }
    })
  }

  return {
    name,
    signal: 'average',
    intensityAt(zone: string, at: Instant, signal?: AbortSignal): Promise<IntensityPoint> {
      return guarded(name, async () => {
        checkZone(zone)
        const points = await window(at, instant(at + HALF_HOUR), signal)
        return valueInForce(name, zone, points, at, HALF_HOUR)
      })
    },
    series(
      zone: string,
      from: Instant,
      to: Instant,
      signal?: AbortSignal,
    ): Promise<readonly IntensityPoint[]> {
      return guarded(name, async () => {
        checkZone(zone)
        return to <= from ? [] : clip(await window(from, to, signal), from, to)
      })
    },
    zones: () => ['GB'],
  }
}

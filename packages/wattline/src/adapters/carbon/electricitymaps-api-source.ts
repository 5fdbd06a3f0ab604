/**
 * @module adapters/carbon/electricitymaps-api-source
 * Electricity Maps API v3 (https://api.electricitymaps.com, header `auth-token`), per its
 * reference at https://portal.electricitymaps.com/docs/api (v3):
 * - `GET /v3/carbon-intensity/latest?zone=Z` → `{zone, carbonIntensity, datetime, updatedAt, isEstimated, …}`
 * - `GET /v3/carbon-intensity/history?zone=Z` → `{zone, history: [{carbonIntensity, datetime, …}]}` (last 24 h, hourly)
 * - `GET /v3/carbon-intensity/forecast?zone=Z` → `{zone, forecast: [{carbonIntensity, datetime}], updatedAt}`
 * - `GET /v3/carbon-intensity/past-range?zone=Z&start=…&end=…` → `{zone, data: [{carbonIntensity, datetime, …}]}`
 * Values are gCO2eq/kWh, average (life-cycle by default). 404 means an unknown zone.
 */
import {
  gramsPerKwh,
  instant,
  WattlineError,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
} from '@wattline/core'
import { clippedSeries, guarded, preferMeasured, valueInForce } from './api-source-base.ts'
import { apiUrl, array, field, getJson, time, type HttpDeps } from './http-json.ts'

export const ELECTRICITYMAPS_BASE_URL = 'https://api.electricitymaps.com'
const HOUR = 3_600_000

export interface ElectricityMapsApiOptions {
  readonly apiKey: string
  readonly baseUrl?: string
  /** Our zone id → Electricity Maps zone id, where they differ. */
  readonly zoneMap?: Readonly<Record<string, string>>
}

/** A live average-intensity source over Electricity Maps API v3. */
export function createElectricityMapsApiSource(
  options: ElectricityMapsApiOptions,
  deps: HttpDeps = {},
): CarbonIntensitySource {
  const name = 'electricitymaps'
  const base = options.baseUrl ?? ELECTRICITYMAPS_BASE_URL

  async function call(
    path: string,
    zone: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const emZone = options.zoneMap?.[zone] ?? zone
    const { status, body } = await getJson(deps, {
      source: name,
      url: apiUrl(base, path, { zone: emZone, ...params }),
      headers: { 'auth-token': options.apiKey },
      signal,
      passStatus: [404],
    })
    if (status === 404) {
      throw new WattlineError(
        'WL_UNKNOWN_ZONE',
        `Electricity Maps does not know zone "${emZone}"`,
        {
          details: { zone, matches: [] },
        },
      )
    }
    return body
  }

  const toPoint = (zone: string, raw: unknown, forecast: boolean): IntensityPoint => ({
    zone,
    at: instant(time(name, field(name, raw, 'datetime', 'string'))),
    intensity: gramsPerKwh(field(name, raw, 'carbonIntensity', 'number')),
    signal: 'average',
    source: forecast ? 'electricitymaps-api (forecast)' : 'electricitymaps-api',
    forecast,
    stale: false,
  })

  async function window(
    zone: string,
    from: Instant,
    to: Instant,
    signal?: AbortSignal,
  ): Promise<IntensityPoint[]> {
    const [history, forecast] = await Promise.all([
      call('/v3/carbon-intensity/history', zone, {}, signal),
      call('/v3/carbon-intensity/forecast', zone, {}, signal),
    ])
    let points = [
      ...array(name, history, 'history').map((r) => toPoint(zone, r, false)),
      ...array(name, forecast, 'forecast').map((r) => toPoint(zone, r, true)),
    ]
    const earliest = points.reduce((m, p) => Math.min(m, p.at), Infinity)
    if (from < earliest) {
      const end = Math.min(to, earliest)
      const past = await call(
        '/v3/carbon-intensity/past-range',
        zone,
        { start: new Date(from - (from % HOUR)).toISOString(), end: new Date(end).toISOString() },
        signal,
      )
      points = [...array(name, past, 'data').map((r) => toPoint(zone, r, false)), ...points]
    }
    return preferMeasured(points)
  }

  return {
    name,
    signal: 'average',
    intensityAt(zone: string, at: Instant, signal?: AbortSignal): Promise<IntensityPoint> {
      return guarded(name, async () => {
        const latest = toPoint(
          zone,
          await call('/v3/carbon-intensity/latest', zone, {}, signal),
          false,
        )
        if (at >= latest.at && at < latest.at + HOUR) return latest
        const points = await window(zone, instant(at - HOUR), instant(at + HOUR), signal)
        return valueInForce(name, zone, points, at, HOUR)
      })
    },
    series: clippedSeries(name, window),
  }
}

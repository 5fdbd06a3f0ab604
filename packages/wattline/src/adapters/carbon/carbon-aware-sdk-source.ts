/**
 * @module adapters/carbon/carbon-aware-sdk-source
 * The Green Software Foundation's Carbon Aware SDK WebAPI (self-hosted; its OpenAPI document
 * "CarbonAware.WebApi" v1.0, e.g. as vendored in Azure/kubernetes-carbon-intensity-exporter
 * pkg/sdk/api/swagger.yaml):
 * - `GET /emissions/bylocation?location=L&time=…&toTime=…` → `[{location, time, rating, duration}]`
 * - `GET /emissions/forecasts/current?location=L&dataStartAt=…&dataEndAt=…` →
 *   `[{location, generatedAt, forecastData: [{location, timestamp, duration, value}], optimalDataPoints: […]}]`
 * `rating`/`value` are gCO2/kWh as normalised by the SDK; the signal is that of the SDK's configured
 * data source (WattTime: marginal, Electricity Maps: average), set in our config.
 */
import {
  gramsPerKwh,
  instant,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
  type Signal,
} from '@wattline/core'
import { clippedSeries, guarded, preferMeasured, valueInForce } from './api-source-base.ts'
import { apiUrl, array, field, getJson, time, type HttpDeps } from './http-json.ts'

export interface CarbonAwareSdkOptions {
  readonly baseUrl: string
  /** Our zone id → the SDK's location name (e.g. DE → germanywestcentral); the zone itself otherwise. */
  readonly locationMap?: Readonly<Record<string, string>>
  readonly signal?: Signal
}

/** A source over a Carbon Aware SDK WebAPI deployment. */
export function createCarbonAwareSdkSource(
  options: CarbonAwareSdkOptions,
  deps: HttpDeps = {},
): CarbonIntensitySource {
  const name = 'carbon-aware-sdk'
  const signalKind = options.signal ?? 'average'
  const locationOf = (zone: string): string => options.locationMap?.[zone] ?? zone

  async function call(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = apiUrl(options.baseUrl, path, params)
    const { status, body } = await getJson(deps, { source: name, url, signal, passStatus: [204] })
    return status === 204 ? [] : body
  }

  async function window(
    zone: string,
    from: Instant,
    to: Instant,
    signal?: AbortSignal,
  ): Promise<IntensityPoint[]> {
    const location = locationOf(zone)
    const iso = (t: number): string => new Date(t).toISOString()
    const [actual, forecasts] = await Promise.all([
      call('/emissions/bylocation', { location, time: iso(from), toTime: iso(to) }, signal),
      call(
        '/emissions/forecasts/current',
        { location, dataStartAt: iso(from), dataEndAt: iso(to) },
        signal,
      ).catch(() => []),
    ])
    const points: IntensityPoint[] = array(name, actual).map((r) => ({
      zone,
      at: instant(time(name, field(name, r, 'time', 'string'))),
      intensity: gramsPerKwh(field(name, r, 'rating', 'number')),
      signal: signalKind,
      source: `carbon-aware-sdk:${location}`,
      forecast: false,
      stale: false,
    }))
    for (const f of array(name, forecasts)) {
      for (const r of array(name, f, 'forecastData')) {
        points.push({
          zone,
          at: instant(time(name, field(name, r, 'timestamp', 'string'))),
          intensity: gramsPerKwh(field(name, r, 'value', 'number')),
          signal: signalKind,
          source: `carbon-aware-sdk:${location} (forecast)`,
          forecast: true,
          stale: false,
        })
      }
    }
    return preferMeasured(points)
  }

  return {
    name,
    signal: signalKind,
    intensityAt(zone: string, at: Instant, signal?: AbortSignal): Promise<IntensityPoint> {
      return guarded(name, async () => {
        const pts = await window(zone, instant(at - 3_600_000), instant(at + 1), signal)
        return valueInForce(name, zone, pts, at, 3_600_000)
      })
    },
    series: clippedSeries(name, window),
  }
}

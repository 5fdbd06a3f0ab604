/**
 * @module adapters/carbon/watttime-api-source
 * WattTime API v3 (https://api.watttime.org; reference https://docs.watttime.org, openapi.json):
 * - `GET /login` with HTTP Basic auth → `{"token": "…"}` (valid 30 min; renewed on a 401)
 * - `GET /v3/forecast?region=R&signal_type=co2_moer&horizon_hours=H` → `{data: [{point_time, value}], meta: {units, generated_at, …}}`
 *   (the first point is the current value)
 * - `GET /v3/historical?region=R&start=…&end=…&signal_type=co2_moer` → `{data: [{point_time, value}], meta: {units, …}}`
 * Units: `lbs_co2_per_mwh`, converted to g/kWh × 0.45359237 (1 lb = 453.59237 g, 1 MWh = 1000 kWh).
 * Signal: `co2_moer` (marginal) or `co2_aoer` (average). Zone → WattTime region via a map.
 */
import {
  gramsPerKwh,
  instant,
  WattlineError,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
  type Signal,
} from '@wattline/core'
import { clippedSeries, guarded, valueInForce } from './api-source-base.ts'
import { apiUrl, array, field, getJson, time, unavailable, type HttpDeps } from './http-json.ts'
import { G_PER_KWH_PER_LBS_PER_MWH } from './watttime-csv-source.ts'

export const WATTTIME_BASE_URL = 'https://api.watttime.org'
const FIVE_MIN = 300_000

/** Default zone → WattTime region (balancing-authority level). */
export const DEFAULT_WATTTIME_REGIONS: Readonly<Record<string, string>> = {
  'US-CAL-CISO': 'CAISO_NORTH',
  'US-TEX-ERCO': 'ERCOT_NORTHCENTRAL',
  'US-MIDA-PJM': 'PJM_DC',
  'US-NY-NYIS': 'NYISO_NYC',
}

export interface WattTimeApiOptions {
  readonly username: string
  readonly password: string
  readonly baseUrl?: string
  readonly regionMap?: Readonly<Record<string, string>>
  readonly signal?: Signal
}

/** A live source over WattTime API v3. */
export function createWattTimeApiSource(
  options: WattTimeApiOptions,
  deps: HttpDeps = {},
): CarbonIntensitySource {
  const name = 'watttime'
  const base = options.baseUrl ?? WATTTIME_BASE_URL
  const signalKind: Signal = options.signal ?? 'marginal'
  const signalType = signalKind === 'marginal' ? 'co2_moer' : 'co2_aoer'
  const regions = { ...DEFAULT_WATTTIME_REGIONS, ...options.regionMap }
  let token: Promise<string> | undefined

  function login(signal?: AbortSignal): Promise<string> {
    token ??= (async () => {
      const basic = Buffer.from(`${options.username}:${options.password}`).toString('base64')
      const { body } = await getJson(deps, {
        source: name,
        url: new URL('/login', base),
        headers: { authorization: `Basic ${basic}` },
        signal,
      })
      return field(name, body, 'token', 'string')
    })().catch((e: unknown) => {
      token = undefined
      throw e
    })
    return token
  }

  async function call(
    path: string,
    params: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = apiUrl(base, path, params)
    for (let attempt = 0; attempt < 2; attempt++) {
      const { status, body } = await getJson(deps, {
        source: name,
        url,
        headers: { authorization: `Bearer ${await login(signal)}` },
        signal,
        passStatus: [401],
      })
      if (status !== 401) return body
      token = undefined
    }
    throw unavailable(name, 'login token rejected twice (HTTP 401)')
  }

  function regionOf(zone: string): string {
    const hit = Object.entries(regions).find(([z]) => z.toUpperCase() === zone.toUpperCase())
    if (hit !== undefined) return hit[1]
    if (/^[A-Z0-9]+_[A-Z0-9_]+$/.test(zone)) return zone
    throw new WattlineError(
      'WL_UNKNOWN_ZONE',
      `no WattTime region for zone "${zone}"; add it to region_map (known: ${Object.keys(regions).join(', ')})`,
      { details: { zone, matches: Object.keys(regions) } },
    )
  }

  function points(zone: string, body: unknown, forecastFrom: number): IntensityPoint[] {
    const meta =
      typeof body === 'object' && body !== null ? (body as { meta?: unknown }).meta : undefined
    const units = field(name, meta, 'units', 'string')
    const factor =
      units.startsWith('lbs_') && units.endsWith('_per_mwh')
        ? G_PER_KWH_PER_LBS_PER_MWH
        : units.startsWith('g_') && units.endsWith('_per_kwh')
          ? 1
          : NaN
    if (Number.isNaN(factor)) throw unavailable(name, `unexpected units "${units}"`)
    return array(name, body, 'data').map((raw, i) => ({
      zone,
      at: instant(time(name, field(name, raw, 'point_time', 'string'))),
      intensity: gramsPerKwh(field(name, raw, 'value', 'number') * factor),
      signal: signalKind,
      source: `watttime-api:${signalType} (${units} → g/kWh)`,
      forecast: i >= forecastFrom,
      stale: false,
    }))
  }

  async function window(
    zone: string,
    from: Instant,
    to: Instant,
    signal?: AbortSignal,
  ): Promise<IntensityPoint[]> {
    const region = regionOf(zone)
    const horizon = Math.min(72, Math.max(1, Math.ceil((to - from) / 3_600_000)))
    const forecast = points(
      zone,
      await call(
        '/v3/forecast',
        { region, signal_type: signalType, horizon_hours: String(horizon) },
        signal,
      ),
      1,
    )
    const now = forecast[0]?.at ?? Infinity
    let history: IntensityPoint[] = []
    if (from < now) {
      const end = Math.min(to, now)
      history = points(
        zone,
        await call(
          '/v3/historical',
          {
            region,
            signal_type: signalType,
            start: new Date(from - (from % FIVE_MIN)).toISOString(),
            end: new Date(end).toISOString(),
          },
          signal,
        ),
        Infinity,
      )
    }
    const byTime = new Map<number, IntensityPoint>()
    for (const p of [...history, ...forecast]) if (!byTime.has(p.at)) byTime.set(p.at, p)
    return [...byTime.values()].sort((a, b) => a.at - b.at)
  }

  return {
    name,
    signal: signalKind,
    intensityAt(zone: string, at: Instant, signal?: AbortSignal): Promise<IntensityPoint> {
      return guarded(name, async () => {
        const points = await window(zone, instant(at - FIVE_MIN), instant(at + FIVE_MIN), signal)
        return valueInForce(name, zone, points, at, FIVE_MIN)
      })
    },
    series: clippedSeries(name, window),
    zones: () => Object.keys(regions),
  }
}

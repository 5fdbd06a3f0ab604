/**
 * @module adapters/carbon/fake-carbon-apis.test-support
 * Local HTTP servers that speak the carbon providers' real API shapes (Electricity Maps v3,
 * WattTime v3, the UK Carbon Intensity API, the Carbon Aware SDK WebAPI), as documented in each
 * adapter's module doc, around a fixed "now" (`NOW`). Tests switch a server to failing (`error`:
 * HTTP 500 everywhere), hanging, or deny single paths (HTTP 403, as a plan without that endpoint).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { instant, type Instant } from '@wattline/core'

export const H = 3_600_000
/** The fake providers' "now": 2025-03-01T12:00Z. */
export const NOW = Date.UTC(2025, 2, 1, 12)
const iso = (t: number): string => new Date(t).toISOString()

type Handler = (url: URL, req: IncomingMessage) => { status: number; body: unknown } | 'hang'

/** Responses in each API's documented shape (see each adapter's module doc for the reference). */
const routes: Record<string, Handler> = {
  // Electricity Maps v3
  '/v3/carbon-intensity/latest': (url) =>
    url.searchParams.get('zone') === 'XX'
      ? { status: 404, body: { error: 'Zone not found' } }
      : {
          status: 200,
          body: {
            zone: url.searchParams.get('zone'),
            carbonIntensity: 300,
            datetime: iso(NOW),
            updatedAt: iso(NOW),
            isEstimated: true,
          },
        },
  '/v3/carbon-intensity/history': (url) => ({
    status: 200,
    body: {
      zone: url.searchParams.get('zone'),
      history: [-3, -2, -1, 0].map((h) => ({
        carbonIntensity: 300 + h * 10,
        datetime: iso(NOW + h * H),
        isEstimated: false,
      })),
    },
  }),
  '/v3/carbon-intensity/forecast': (url) => ({
    status: 200,
    body: {
      zone: url.searchParams.get('zone'),
      forecast: [1, 2, 3].map((h) => ({ carbonIntensity: 200 + h, datetime: iso(NOW + h * H) })),
      updatedAt: iso(NOW),
    },
  }),
  '/v3/carbon-intensity/past-range': (url) => ({
    status: 200,
    body: {
      zone: url.searchParams.get('zone'),
      data: [
        { carbonIntensity: 111, datetime: iso(Date.parse(url.searchParams.get('start') ?? '')) },
      ],
    },
  }),
  // WattTime v3
  '/login': (_url, req) =>
    req.headers.authorization === `Basic ${Buffer.from('user:pass').toString('base64')}`
      ? { status: 200, body: { token: 'tok-1' } }
      : { status: 403, body: { error: 'bad credentials' } },
  '/v3/forecast': (url, req) =>
    req.headers.authorization !== 'Bearer tok-1'
      ? { status: 401, body: {} }
      : {
          status: 200,
          body: {
            data: [0, 1, 2, 3].map((i) => ({
              point_time: iso(NOW + i * 300_000),
              value: 1000 + i,
            })),
            meta: {
              region: url.searchParams.get('region'),
              signal_type: url.searchParams.get('signal_type'),
              units: 'lbs_co2_per_mwh',
              generated_at: iso(NOW),
            },
          },
        },
  '/v3/historical': (url) => ({
    status: 200,
    body: {
      data: [1, 2, 3].map((i) => ({ point_time: iso(NOW - i * 300_000), value: 900 })),
      meta: {
        region: url.searchParams.get('region'),
        signal_type: 'co2_moer',
        units: 'lbs_co2_per_mwh',
      },
    },
  }),
  // Carbon Aware SDK WebAPI
  '/emissions/bylocation': (url) => ({
    status: 200,
    body: [0, 1].map((h) => ({
      location: url.searchParams.get('location'),
      time: iso(NOW - H + h * H),
      rating: 250 + h,
      duration: '01:00:00',
    })),
  }),
  '/emissions/forecasts/current': (url) => ({
    status: 200,
    body: [
      {
        location: url.searchParams.get('location'),
        generatedAt: iso(NOW),
        forecastData: [1, 2].map((h) => ({
          location: 'x',
          timestamp: iso(NOW + h * H),
          duration: 60,
          value: 150,
        })),
        optimalDataPoints: [],
      },
    ],
  }),
}

function ukRoute(path: string): { status: number; body: unknown } | undefined {
  const m = /^\/(regional\/)?intensity\/([^/]+)\/([^/]+)(?:\/regionid\/(\d+))?$/.exec(path)
  if (m === null) return undefined
  const from = Date.parse(decodeURIComponent(m[2] ?? ''))
  const rows = [0, 1, 2, 3].map((i) => {
    const t = from + i * 1_800_000
    return {
      from: iso(t).slice(0, 16) + 'Z',
      to: iso(t + 1_800_000).slice(0, 16) + 'Z',
      intensity: { forecast: 180 + i, actual: t < NOW ? 170 + i : null, index: 'moderate' },
    }
  })
  if (m[1] !== undefined)
    return {
      status: 200,
      body: {
        data: {
          regionid: Number(m[4]),
          shortname: 'North Scotland',
          data: rows.map((r) => ({
            ...r,
            intensity: { forecast: r.intensity.forecast, index: 'low' },
          })),
        },
      },
    }
  return { status: 200, body: { data: rows } }
}

export interface FakeCarbonApis {
  /** `http://127.0.0.1:<port>` */
  readonly base: string
  /** `ok` answers, `error` answers 500 everywhere, `hang` never answers. */
  mode: 'ok' | 'error' | 'hang'
  /** Paths answering 403 `{"error": "not included in your plan"}` (e.g. a free plan's past-range). */
  readonly denied: Set<string>
  /** Requests seen, oldest first. */
  readonly seen: { path: string; headers: IncomingMessage['headers'] }[]
  close(): Promise<void>
}

/** Starts one server answering every provider's routes on loopback. */
export async function startFakeCarbonApis(): Promise<FakeCarbonApis> {
  const state = { mode: 'ok' as FakeCarbonApis['mode'] }
  const denied = new Set<string>()
  const seen: FakeCarbonApis['seen'] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    seen.push({ path: url.pathname, headers: req.headers })
    if (state.mode === 'hang') return
    const answer =
      state.mode === 'error'
        ? { status: 500, body: { error: 'boom' } }
        : denied.has(url.pathname)
          ? { status: 403, body: { error: 'not included in your plan' } }
          : (routes[url.pathname]?.(url, req) ?? ukRoute(url.pathname) ?? { status: 404, body: {} })
    if (answer === 'hang') return
    res.writeHead(answer.status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(answer.body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    base,
    get mode() {
      return state.mode
    },
    set mode(m) {
      state.mode = m
    },
    denied,
    seen,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** What the fake servers' data holds, per provider: a contract fixture less its source. */
export interface FakeFacts {
  readonly zone: string
  readonly from: Instant
  readonly to: Instant
  readonly unknownZone?: string
  readonly known: { readonly at: Instant; readonly intensity: number }
  readonly forecastFrom: Instant
  readonly stale: boolean
}

export const FAKE_FACTS: Readonly<
  Record<'electricitymaps' | 'watttime' | 'uk-carbon-intensity' | 'carbon-aware-sdk', FakeFacts>
> = {
  // hourly history NOW-3h…NOW (270…300), forecast NOW+1h… (201…)
  electricitymaps: {
    zone: 'DE',
    from: instant(NOW - 2 * H),
    to: instant(NOW + 2 * H),
    unknownZone: 'XX',
    known: { at: instant(NOW - H + 1), intensity: 290 },
    forecastFrom: instant(NOW + 1),
    stale: false,
  },
  // 5-minute MOER: history 900 lbs/MWh before NOW, current 1000 at NOW, forecast after
  watttime: {
    zone: 'US-CAL-CISO',
    from: instant(NOW - 600_000),
    to: instant(NOW + 600_000),
    unknownZone: 'de',
    known: { at: instant(NOW), intensity: 1000 * 0.45359237 },
    forecastFrom: instant(NOW + 1),
    stale: false,
  },
  // half-hourly: actual before NOW (170, 171), forecast from NOW (182, 183)
  'uk-carbon-intensity': {
    zone: 'GB',
    from: instant(NOW - H),
    to: instant(NOW + H),
    unknownZone: 'FR',
    known: { at: instant(NOW - H), intensity: 170 },
    forecastFrom: instant(NOW),
    stale: false,
  },
  // hourly: actual NOW-1h (250), NOW (251); forecast NOW+1h, NOW+2h (150)
  'carbon-aware-sdk': {
    zone: 'DE',
    from: instant(NOW - H),
    to: instant(NOW + 2 * H),
    known: { at: instant(NOW - H + 1), intensity: 250 },
    forecastFrom: instant(NOW + 1),
    stale: false,
  },
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from 'undici'
import { hasCode, instant } from '@wattline/core'
import { testCarbonIntensitySource } from '../../../../core/src/ports/carbon-intensity-source.contract.ts'
import { createCarbonAwareSdkSource } from './carbon-aware-sdk-source.ts'
import { createElectricityMapsApiSource } from './electricitymaps-api-source.ts'
import { createUkCarbonIntensitySource } from './uk-carbon-intensity-source.ts'
import { createWattTimeApiSource } from './watttime-api-source.ts'

const H = 3_600_000
/** The fake providers' "now": 2025-03-01T12:00Z. */
const NOW = Date.UTC(2025, 2, 1, 12)
const iso = (t: number): string => new Date(t).toISOString()

type Handler = (url: URL, req: IncomingMessage) => { status: number; body: unknown } | 'hang'
let mode: 'ok' | 'error' | 'hang' = 'ok'
const seen: { path: string; headers: IncomingMessage['headers'] }[] = []

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

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  seen.push({ path: url.pathname, headers: req.headers })
  if (mode === 'hang') return
  const answer =
    mode === 'error'
      ? { status: 500, body: { error: 'boom' } }
      : (routes[url.pathname]?.(url, req) ?? ukRoute(url.pathname) ?? { status: 404, body: {} })
  if (answer === 'hang') return
  res.writeHead(answer.status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(answer.body))
})
let base = ''
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const windowAround = { from: instant(NOW - 2 * H), to: instant(NOW + 2 * H) }
const healthy =
  <T>(make: () => T) =>
  () => {
    mode = 'ok'
    return make()
  }
const broken =
  <T>(make: () => T) =>
  () => {
    mode = 'error'
    return make()
  }

const em = () => createElectricityMapsApiSource({ apiKey: 'k-123', baseUrl: base })
const wt = () => createWattTimeApiSource({ username: 'user', password: 'pass', baseUrl: base })
const uk = () => createUkCarbonIntensitySource({ baseUrl: base })
const cas = () =>
  createCarbonAwareSdkSource({ baseUrl: base, locationMap: { DE: 'germanywestcentral' } })

testCarbonIntensitySource('electricitymaps api', {
  healthy: healthy(() => ({ source: em(), zone: 'DE', ...windowAround, unknownZone: 'XX' })),
  unavailable: broken(() => ({ source: em(), zone: 'DE', ...windowAround })),
})
testCarbonIntensitySource('watttime api', {
  healthy: healthy(() => ({
    source: wt(),
    zone: 'US-CAL-CISO',
    from: instant(NOW - 600_000),
    to: instant(NOW + 600_000),
    unknownZone: 'de',
  })),
  unavailable: broken(() => ({ source: wt(), zone: 'US-CAL-CISO', ...windowAround })),
})
testCarbonIntensitySource('uk carbon intensity api', {
  healthy: healthy(() => ({
    source: uk(),
    zone: 'GB',
    from: instant(NOW - H),
    to: instant(NOW + H),
    unknownZone: 'FR',
  })),
  unavailable: broken(() => ({ source: uk(), zone: 'GB', ...windowAround })),
})
testCarbonIntensitySource('carbon aware sdk', {
  healthy: healthy(() => ({
    source: cas(),
    zone: 'DE',
    from: instant(NOW - H),
    to: instant(NOW + 2 * H),
  })),
  unavailable: broken(() => ({ source: cas(), zone: 'DE', ...windowAround })),
})

describe('API sources against a local server', () => {
  it('Electricity Maps: sends auth-token, merges history and forecast, fetches past-range for older windows', async () => {
    mode = 'ok'
    seen.length = 0
    const s = em()
    expect(await s.intensityAt('DE', instant(NOW + 60_000))).toMatchObject({
      intensity: 300,
      forecast: false,
    })
    expect(seen[0]?.headers['auth-token']).toBe('k-123')
    const pts = await s.series('DE', instant(NOW - 5 * H), instant(NOW + 2 * H))
    expect(pts[0]).toMatchObject({ intensity: 111, at: NOW - 5 * H })
    expect(pts.at(-1)).toMatchObject({ intensity: 201, forecast: true })
  })

  it('WattTime: logs in with basic auth, converts lbs/MWh to g/kWh, marks forecasts', async () => {
    mode = 'ok'
    const s = wt()
    const now = await s.intensityAt('US-CAL-CISO', instant(NOW))
    expect(now.intensity).toBeCloseTo(1000 * 0.45359237)
    expect(now).toMatchObject({ signal: 'marginal', forecast: false })
    const later = await s.intensityAt('US-CAL-CISO', instant(NOW + 600_000))
    expect(later.forecast).toBe(true)
    const bad = createWattTimeApiSource({ username: 'user', password: 'wrong', baseUrl: base })
    const e = await bad.intensityAt('US-CAL-CISO', instant(NOW)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_CARBON_SOURCE_UNAVAILABLE')).toBe(true)
    expect((e as Error).message).toContain('HTTP 403')
  })

  it('UK: uses actual where present, forecast (flagged) otherwise; regional series', async () => {
    mode = 'ok'
    const pts = await uk().series('GB', instant(NOW - H), instant(NOW + H))
    expect(pts.map((p) => [p.intensity, p.forecast])).toEqual([
      [170, false],
      [171, false],
      [182, true],
      [183, true],
    ])
    const regional = createUkCarbonIntensitySource({ baseUrl: base, regionId: 1 })
    expect(await regional.intensityAt('gb', instant(NOW))).toMatchObject({
      intensity: 180,
      forecast: true,
    })
  })

  it('Carbon Aware SDK: maps zone to location and appends forecast points', async () => {
    mode = 'ok'
    seen.length = 0
    const pts = await cas().series('DE', instant(NOW - H), instant(NOW + 3 * H))
    expect(seen.some((r) => r.path === '/emissions/bylocation')).toBe(true)
    expect(pts.map((p) => [p.intensity, p.forecast])).toEqual([
      [250, false],
      [251, false],
      [150, true],
      [150, true],
    ])
  })

  it('times out a hanging provider as WL_CARBON_SOURCE_UNAVAILABLE, through an injected undici dispatcher', async () => {
    mode = 'hang'
    const dispatcher = new Agent()
    const s = createUkCarbonIntensitySource({ baseUrl: base }, { dispatcher, timeoutMs: 150 })
    const e = await s.intensityAt('GB', instant(NOW)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_CARBON_SOURCE_UNAVAILABLE')).toBe(true)
    expect((e as Error).message).toContain('timed out after 150 ms')
    await dispatcher.destroy()
    mode = 'ok'
  })

  it('reports a refused connection as WL_CARBON_SOURCE_UNAVAILABLE', async () => {
    const s = createElectricityMapsApiSource({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' })
    const e = await s.intensityAt('DE', instant(NOW)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_CARBON_SOURCE_UNAVAILABLE')).toBe(true)
  })
})

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent } from 'undici'
import { hasCode, instant } from '@wattline/core'
import { testCarbonIntensitySource } from '@wattline/core/testing'
import { createCarbonAwareSdkSource } from './carbon-aware-sdk-source.ts'
import { createElectricityMapsApiSource } from './electricitymaps-api-source.ts'
import { createUkCarbonIntensitySource } from './uk-carbon-intensity-source.ts'
import { createWattTimeApiSource } from './watttime-api-source.ts'
import {
  FAKE_FACTS,
  H,
  NOW,
  startFakeCarbonApis,
  type FakeCarbonApis,
} from './fake-carbon-apis.test-support.ts'

let apis: FakeCarbonApis
let base = ''
beforeAll(async () => {
  apis = await startFakeCarbonApis()
  base = apis.base
})
afterAll(() => apis.close())

const windowAround = { from: instant(NOW - 2 * H), to: instant(NOW + 2 * H) }
const healthy =
  <T>(make: () => T) =>
  () => {
    apis.mode = 'ok'
    return make()
  }
const broken =
  <T>(make: () => T) =>
  () => {
    apis.mode = 'error'
    return make()
  }

const em = () => createElectricityMapsApiSource({ apiKey: 'k-123', baseUrl: base })
const wt = () => createWattTimeApiSource({ username: 'user', password: 'pass', baseUrl: base })
const uk = () => createUkCarbonIntensitySource({ baseUrl: base })
const cas = () =>
  createCarbonAwareSdkSource({ baseUrl: base, locationMap: { DE: 'germanywestcentral' } })

testCarbonIntensitySource('electricitymaps api', {
  healthy: healthy(() => ({ source: em(), ...FAKE_FACTS.electricitymaps })),
  unavailable: broken(() => ({ source: em(), zone: 'DE', ...windowAround })),
})
testCarbonIntensitySource('watttime api', {
  healthy: healthy(() => ({ source: wt(), ...FAKE_FACTS.watttime })),
  unavailable: broken(() => ({ source: wt(), zone: 'US-CAL-CISO', ...windowAround })),
})
testCarbonIntensitySource('uk carbon intensity api', {
  healthy: healthy(() => ({ source: uk(), ...FAKE_FACTS['uk-carbon-intensity'] })),
  unavailable: broken(() => ({ source: uk(), zone: 'GB', ...windowAround })),
})
testCarbonIntensitySource('carbon aware sdk', {
  healthy: healthy(() => ({ source: cas(), ...FAKE_FACTS['carbon-aware-sdk'] })),
  unavailable: broken(() => ({ source: cas(), zone: 'DE', ...windowAround })),
})

describe('API sources against a local server', () => {
  it('Electricity Maps: sends auth-token, merges history and forecast, fetches past-range for older windows', async () => {
    apis.mode = 'ok'
    apis.seen.length = 0
    const s = em()
    expect(await s.intensityAt('DE', instant(NOW + 60_000))).toMatchObject({
      intensity: 300,
      forecast: false,
    })
    expect(apis.seen[0]?.headers['auth-token']).toBe('k-123')
    const pts = await s.series('DE', instant(NOW - 5 * H), instant(NOW + 2 * H))
    expect(pts[0]).toMatchObject({ intensity: 111, at: NOW - 5 * H })
    expect(pts.at(-1)).toMatchObject({ intensity: 201, forecast: true })
  })

  it('WattTime: logs in with basic auth, converts lbs/MWh to g/kWh, marks forecasts', async () => {
    apis.mode = 'ok'
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
    apis.mode = 'ok'
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
    apis.mode = 'ok'
    apis.seen.length = 0
    const pts = await cas().series('DE', instant(NOW - H), instant(NOW + 3 * H))
    expect(apis.seen.some((r) => r.path === '/emissions/bylocation')).toBe(true)
    expect(pts.map((p) => [p.intensity, p.forecast])).toEqual([
      [250, false],
      [251, false],
      [150, true],
      [150, true],
    ])
  })

  it('times out a hanging provider as WL_CARBON_SOURCE_UNAVAILABLE, through an injected undici dispatcher', async () => {
    apis.mode = 'hang'
    const dispatcher = new Agent()
    const s = createUkCarbonIntensitySource({ baseUrl: base }, { dispatcher, timeoutMs: 150 })
    const e = await s.intensityAt('GB', instant(NOW)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_CARBON_SOURCE_UNAVAILABLE')).toBe(true)
    expect((e as Error).message).toContain('timed out after 150 ms')
    await dispatcher.destroy()
    apis.mode = 'ok'
  })

  it('reports a refused connection as WL_CARBON_SOURCE_UNAVAILABLE', async () => {
    const s = createElectricityMapsApiSource({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' })
    const e = await s.intensityAt('DE', instant(NOW)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_CARBON_SOURCE_UNAVAILABLE')).toBe(true)
  })
})

import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hasCode, instant } from '@wattline/core'
import { testCarbonIntensitySource } from '@wattline/core/testing'
import { createElectricityMapsCsvSource } from './electricitymaps-csv-source.ts'
import { createGenericFileSource } from './generic-file-source.ts'
import { createWattTimeCsvSource, G_PER_KWH_PER_LBS_PER_MWH } from './watttime-csv-source.ts'
import { hasSharedData, SHARED_DATA, tempFiles } from './test-helpers.ts'

const H = 3_600_000
const T0 = Date.UTC(2023, 0, 1)

const EM_HEADER =
  'Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method'
const EM_ROWS = [
  '2023-01-01 00:00:00,Germany,Germany,DE,300,350,50,45,entsoe.eu,false,',
  '2023-01-01 01:00:00,Germany,Germany,DE,280,330,52,47,entsoe.eu,false,',
  '2023-01-01 02:00:00,Germany,Germany,DE,260,310,55,50,entsoe.eu,false,',
  '2023-01-01 03:00:00,Germany,Germany,DE,250,300,56,51,entsoe.eu,false,',
]
const WT_ACTUAL =
  'time,Caiso_North\n2023-06-08 00:00:00,400\n2023-06-08 00:05:00,410\n2023-06-08 00:10:00,420\n'
const WT_FORECAST =
  'request_time,forecast_time,Caiso_North\n2023-06-08 00:05:00,2023-06-08 00:10:00,999\n2023-06-08 00:10:00,2023-06-08 00:15:00,430\n2023-06-08 00:10:00,2023-06-08 00:20:00,440\n2023-06-08 00:00:00,2023-06-08 00:25:00,1\n'
const GENERIC_CSV =
  'zone,datetime,intensity_g_per_kwh,signal,forecast\nFR,2025-01-01T00:00:00Z,40,average,false\nFR,2025-01-01T01:00:00+01:00,42,,\nFR,2025-01-01T01:00:00Z,45,average,true\n'
const GENERIC_JSON = JSON.stringify(
  {
    points: [
      { zone: 'SE-SE3', datetime: '2025-01-01T00:00:00Z', intensity_g_per_kwh: 20 },
      { zone: 'SE-SE3', datetime: '2025-01-01T01:00:00Z', intensity_g_per_kwh: 25, forecast: true },
    ],
  },
  null,
  2,
)

const fixture = tempFiles({
  'em/DE_2023.csv': `${EM_HEADER}\n${EM_ROWS.join('\n')}\n`,
  'wt/actual.csv': WT_ACTUAL,
  'wt/forecast.csv': WT_FORECAST,
  'grid.csv': GENERIC_CSV,
  'grid.json': GENERIC_JSON,
  'bad-em.csv': `${EM_HEADER}\n${EM_ROWS[0]}\n2023-01-01 01:00:00,Germany,Germany,DE,abc,330,52,47,entsoe.eu,false,\n`,
  'bad.json':
    '[\n  {"zone": "FR", "datetime": "2025-01-01T00:00:00Z", "intensity_g_per_kwh": 1},\n  {"zone": "FR", "datetime": "yesterday", "intensity_g_per_kwh": 2}\n]\n',
  'broken.json': '[\n  {"zone": "FR",,}\n]',
  'bad-generic.csv': 'zone,datetime,intensity_g_per_kwh\nFR,2025-01-01T00:00:00Z,-5\n',
})
afterAll(fixture.cleanup)
const missing = join(fixture.dir, 'does-not-exist.csv')

testCarbonIntensitySource('electricitymaps-csv', {
  healthy: () => ({
    source: createElectricityMapsCsvSource({ path: join(fixture.dir, 'em') }),
    zone: 'de-lu',
    canonicalZone: 'DE',
    from: instant(T0 + H / 2),
    to: instant(T0 + 3 * H),
    unknownZone: 'FR',
  }),
  unavailable: () => ({
    source: createElectricityMapsCsvSource({ path: missing }),
    zone: 'DE',
    from: instant(T0),
    to: instant(T0 + H),
  }),
})

testCarbonIntensitySource('watttime-csv', {
  healthy: () => ({
    source: createWattTimeCsvSource({ path: join(fixture.dir, 'wt') }),
    zone: 'US-CAL-CISO',
    from: instant(Date.UTC(2023, 5, 8)),
    to: instant(Date.UTC(2023, 5, 8, 0, 20)),
  }),
  unavailable: () => ({
    source: createWattTimeCsvSource({ path: missing }),
    zone: 'US-CAL-CISO',
    from: instant(0),
    to: instant(1),
  }),
})

testCarbonIntensitySource('csv (generic)', {
  healthy: () => ({
    source: createGenericFileSource({ path: join(fixture.dir, 'grid.csv'), format: 'csv' }),
    zone: 'FR',
    from: instant(Date.UTC(2025, 0, 1)),
    to: instant(Date.UTC(2025, 0, 1, 2)),
    unknownZone: 'DE',
  }),
  unavailable: () => ({
    source: createGenericFileSource({ path: missing, format: 'csv' }),
    zone: 'FR',
    from: instant(0),
    to: instant(1),
  }),
})

testCarbonIntensitySource('json (generic)', {
  healthy: () => ({
    source: createGenericFileSource({ path: join(fixture.dir, 'grid.json'), format: 'json' }),
    zone: 'se-se3',
    canonicalZone: 'SE-SE3',
    from: instant(Date.UTC(2025, 0, 1)),
    to: instant(Date.UTC(2025, 0, 1, 2)),
  }),
})

async function rejection(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> }
  }
  throw new Error('expected a rejection')
}

describe('electricitymaps-csv source', () => {
  it('reads the direct column by default and LCA on request', async () => {
    const direct = createElectricityMapsCsvSource({ path: join(fixture.dir, 'em') })
    expect((await direct.intensityAt('DE', instant(T0 + 90 * 60_000))).intensity).toBe(280)
    const lca = createElectricityMapsCsvSource({ path: join(fixture.dir, 'em'), basis: 'lca' })
    expect((await lca.intensityAt('DE', instant(T0))).intensity).toBe(350)
  })

  it('reports a malformed cell with file, line and column', async () => {
    const file = join(fixture.dir, 'bad-em.csv')
    const e = await rejection(
      createElectricityMapsCsvSource({ path: file }).intensityAt('DE', instant(T0)),
    )
    expect(e.code).toBe('WL_DATA_FORMAT')
    expect(e.details).toEqual({ file, line: 3, column: 40 })
    expect(e.message).toContain('invalid intensity "abc"')
  })

  it('answers WL_NO_INTENSITY_DATA outside the file coverage', async () => {
    const s = createElectricityMapsCsvSource({ path: join(fixture.dir, 'em') })
    expect(
      hasCode(await rejection(s.intensityAt('DE', instant(T0 + 10 * H))), 'WL_NO_INTENSITY_DATA'),
    ).toBe(true)
  })

  it.skipIf(!hasSharedData)(
    'loads the shared 2023 folder (16 zones, 8760 hours each)',
    async () => {
      const s = createElectricityMapsCsvSource({
        path: join(SHARED_DATA, 'electricitymaps-hourly/2023'),
      })
      const zones = await s.preload()
      expect(zones).toHaveLength(16)
      const day = await s.series('GB', instant(T0), instant(T0 + 24 * H))
      expect(day).toHaveLength(24)
      expect((await s.intensityAt('DE', instant(T0))).source).toContain('DE-LU_2023_hourly.csv')
    },
  )
})

describe('watttime-csv source', () => {
  it('is marginal, uses actuals, then the latest forecast issue after the last actual', async () => {
    const s = createWattTimeCsvSource({ path: join(fixture.dir, 'wt') })
    const points = await s.series(
      'CAISO_NORTH',
      instant(Date.UTC(2023, 5, 8)),
      instant(Date.UTC(2023, 5, 8, 1)),
    )
    expect(points.map((p) => [p.intensity, p.forecast])).toEqual([
      [400, false],
      [410, false],
      [420, false],
      [430, true],
      [440, true],
    ])
    expect(points.every((p) => p.signal === 'marginal')).toBe(true)
  })

  it('with asOf, hides later actuals and uses the forecast issued by then', async () => {
    const s = createWattTimeCsvSource({
      path: join(fixture.dir, 'wt'),
      asOf: instant(Date.UTC(2023, 5, 8, 0, 5)),
    })
    const p = await s.intensityAt('US-CAL-CISO', instant(Date.UTC(2023, 5, 8, 0, 12)))
    expect(p).toMatchObject({ intensity: 999, forecast: true })
  })

  it('converts lbs/MWh to g/kWh when told the file is in lbs/MWh', async () => {
    const s = createWattTimeCsvSource({
      path: join(fixture.dir, 'wt/actual.csv'),
      unit: 'lbs_per_mwh',
    })
    const p = await s.intensityAt('US-CAL-CISO', instant(Date.UTC(2023, 5, 8)))
    expect(p.intensity).toBeCloseTo(400 * G_PER_KWH_PER_LBS_PER_MWH)
    expect(G_PER_KWH_PER_LBS_PER_MWH).toBeCloseTo(453.59237 / 1000)
  })

  it.skipIf(!hasSharedData)('reads the shared CAISO North month with its forecasts', async () => {
    const s = createWattTimeCsvSource({
      path: join(SHARED_DATA, 'watttime-moer-caiso-north'),
      asOf: instant(Date.UTC(2023, 5, 20, 12)),
    })
    const next = await s.series(
      'US-CAL-CISO',
      instant(Date.UTC(2023, 5, 20, 11)),
      instant(Date.UTC(2023, 5, 20, 14)),
    )
    expect(next.filter((p) => !p.forecast).length).toBe(13)
    expect(next.filter((p) => p.forecast).length).toBeGreaterThan(5)
  })
})

describe('generic csv/json sources', () => {
  it('reads offsets, optional signal and forecast columns', async () => {
    const s = createGenericFileSource({ path: join(fixture.dir, 'grid.csv'), format: 'csv' })
    const pts = await s.series('FR', instant(Date.UTC(2024, 11, 31)), instant(Date.UTC(2025, 0, 2)))
    // 01:00+01:00 is 00:00Z: the actual 40 wins over the later duplicate at the same instant.
    expect(pts.map((p) => [p.at, p.intensity, p.forecast])).toEqual([
      [Date.UTC(2025, 0, 1), 40, false],
      [Date.UTC(2025, 0, 1, 1), 45, true],
    ])
  })

  it('names line and column of a bad JSON field and of a JSON syntax error', async () => {
    const bad = join(fixture.dir, 'bad.json')
    const e = await rejection(
      createGenericFileSource({ path: bad, format: 'json' }).intensityAt('FR', instant(0)),
    )
    expect(e.code).toBe('WL_DATA_FORMAT')
    expect(e.details).toEqual({ file: bad, line: 3, column: 18 })
    const broken = join(fixture.dir, 'broken.json')
    const s = await rejection(
      createGenericFileSource({ path: broken, format: 'json' }).intensityAt('FR', instant(0)),
    )
    expect(s.code).toBe('WL_DATA_FORMAT')
    expect(s.details['line']).toBe(2)
  })

  it('rejects a negative intensity at its cell', async () => {
    const file = join(fixture.dir, 'bad-generic.csv')
    const e = await rejection(
      createGenericFileSource({ path: file, format: 'csv' }).intensityAt('FR', instant(0)),
    )
    expect(e.details).toEqual({ file, line: 2, column: 25 })
  })
})

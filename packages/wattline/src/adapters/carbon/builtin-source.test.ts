import { describe, expect, it } from 'vitest'
import { BUILTIN_INTENSITY, hasCode, instant } from '@wattline/core'
import { testCarbonIntensitySource } from '@wattline/core/testing'
import { createBuiltinSource } from './builtin-source.ts'

const JAN_1 = Date.UTC(2025, 0, 1)
const H = 3_600_000

testCarbonIntensitySource('builtin', {
  healthy: () => ({
    source: createBuiltinSource(),
    zone: 'de',
    canonicalZone: 'DE',
    from: instant(JAN_1 + 30 * 60_000),
    to: instant(JAN_1 + 24 * H),
    unknownZone: 'XX-NOWHERE',
  }),
})

describe('createBuiltinSource', () => {
  const source = createBuiltinSource()

  it('covers the 18 hourly zones and the required annual-figure zones', () => {
    const zones = source.zones?.() ?? []
    for (const z of [
      'AU-NSW',
      'AU-VIC',
      'BR-CS',
      'CA-ON',
      'CL-SEN',
      'DE',
      'GB',
      'IN-WE',
      'JP-TK',
      'KR',
      'SG',
      'US-CAL-CISO',
      'US-MIDA-PJM',
      'US-NY-NYIS',
      'US-TEX-ERCO',
      'ZA',
      'ES',
      'NO',
      'FR',
      'PL',
      'NL',
      'SE-SE3',
      'IE',
      'IT-NO',
      'US-NW-PACW',
    ]) {
      expect(zones).toContain(z)
    }
    const hourly = Object.values(BUILTIN_INTENSITY.zones).filter(
      (z) => z.basis === 'hourly-derived',
    )
    expect(hourly).toHaveLength(18)
  })

  it('resolves country aliases SE and IT to their zones', async () => {
    expect((await source.intensityAt('SE', instant(JAN_1))).zone).toBe('SE-SE3')
    expect((await source.intensityAt('it', instant(JAN_1))).zone).toBe('IT-NO')
  })

  it('varies by hour as the real grid does: Californian midday (solar) is cleaner than night', async () => {
    // 20:00 UTC = noon PST; 06:00 UTC = 22:00 PST, in June.
    const noon = await source.intensityAt('US-CAL-CISO', instant(Date.UTC(2025, 5, 15, 20)))
    const night = await source.intensityAt('US-CAL-CISO', instant(Date.UTC(2025, 5, 15, 6)))
    expect(noon.intensity).toBeLessThan(night.intensity * 0.8)
  })

  it('keeps the profile mean equal to the annual mean (within rounding)', async () => {
    const points = await source.series(
      'DE',
      instant(Date.UTC(2023, 0, 1)),
      instant(Date.UTC(2024, 0, 1)),
    )
    expect(points).toHaveLength(8760)
    const mean = points.reduce((s, p) => s + p.intensity, 0) / points.length
    expect(Math.abs(mean - (BUILTIN_INTENSITY.zones['DE']?.annualMean ?? 0))).toBeLessThan(1)
  })

  it('marks borrowed profiles in each point source and flags static provenance', async () => {
    const p = await source.intensityAt('FR', instant(JAN_1))
    expect(p.source).toContain('annual figure')
    expect(p.source).toContain('borrowed from ES')
    expect(p.provenance).toBe('static')
    expect(p.signal).toBe('average')
    expect(p.forecast).toBe(false)
    const de = await source.intensityAt('DE', instant(JAN_1))
    expect(de.source).toContain('Electricity Maps 2023 hourly')
  })

  it('suggests close matches for an unknown zone', async () => {
    const error = await source.intensityAt('US-CAL-CIS', instant(JAN_1)).catch((e: unknown) => e)
    expect(hasCode(error, 'WL_UNKNOWN_ZONE')).toBe(true)
    expect((error as { details: { matches: string[] } }).details.matches).toContain('US-CAL-CISO')
  })

  it('refuses a window longer than its point limit', async () => {
    const error = await source
      .series('DE', instant(0), instant(2 * 365 * 24 * H))
      .catch((e: unknown) => e)
    expect(hasCode(error, 'WL_INVALID_INPUT')).toBe(true)
  })
})

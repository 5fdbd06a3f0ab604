import { describe, expect, it } from 'vitest'
import {
  gramsPerKwh,
  hasCode,
  instant,
  ms,
  WattlineError,
  type CarbonIntensitySource,
  type Clock,
  type Instant,
  type IntensityPoint,
} from '@wattline/core'
import { testCarbonIntensitySource } from '@wattline/core/testing'
import { createBuiltinSource } from './builtin-source.ts'
import { createCachingSource, type CarbonWarning } from './caching-source.ts'

const H = 3_600_000
const T0 = Date.UTC(2025, 2, 1, 12)

function fakeClock(start: number): Clock & { advance(by: number): void } {
  let now = start
  return {
    now: () => instant(now),
    setTimer: () => () => undefined,
    advance(by: number) {
      now += by
    },
  }
}

/** A provider we can switch off; counts calls. */
function fakeProvider(): CarbonIntensitySource & { up: boolean; calls: number } {
  const point = (zone: string, at: number, forecast = false): IntensityPoint => ({
    zone,
    at: instant(at),
    intensity: gramsPerKwh(forecast ? 111 : 222),
    signal: 'average',
    source: 'fake',
    forecast,
    stale: false,
  })
  const p = {
    name: 'fake',
    signal: 'average' as const,
    up: true,
    calls: 0,
    intensityAt(zone: string, at: Instant): Promise<IntensityPoint> {
      p.calls += 1
      if (zone !== 'DE') return Promise.reject(new WattlineError('WL_UNKNOWN_ZONE', 'nope'))
      if (!p.up)
        return Promise.reject(new WattlineError('WL_CARBON_SOURCE_UNAVAILABLE', 'HTTP 503'))
      return Promise.resolve(point(zone, Math.floor(at / H) * H))
    },
    series(zone: string, from: Instant, to: Instant): Promise<readonly IntensityPoint[]> {
      p.calls += 1
      if (!p.up)
        return Promise.reject(new WattlineError('WL_CARBON_SOURCE_UNAVAILABLE', 'HTTP 503'))
      const start = Math.floor(from / H) * H
      // two actual hours, then two forecast hours
      return Promise.resolve(
        [0, 1, 2, 3].map((i) => point(zone, start + i * H, i >= 2)).filter((x) => x.at < to),
      )
    },
  }
  return p
}

function setup(): {
  clock: ReturnType<typeof fakeClock>
  provider: ReturnType<typeof fakeProvider>
  warnings: CarbonWarning[]
  source: CarbonIntensitySource
} {
  const clock = fakeClock(T0)
  const provider = fakeProvider()
  const warnings: CarbonWarning[] = []
  const source = createCachingSource({
    sources: [provider],
    fallback: createBuiltinSource(),
    clock,
    ttl: ms(300_000),
    staleAfter: ms(2 * H),
    onWarning: (w) => warnings.push(w),
  })
  return { clock, provider, warnings, source }
}

testCarbonIntensitySource('caching-source', {
  healthy: () => ({
    source: setup().source,
    zone: 'DE',
    from: instant(T0),
    to: instant(T0 + 3 * H),
    unknownZone: 'XX',
  }),
})

describe('createCachingSource', () => {
  it('serves live values and caches them for the TTL (timed by the clock)', async () => {
    const { clock, provider, source } = setup()
    const a = await source.intensityAt('DE', instant(T0))
    expect(a).toMatchObject({ intensity: 222, provenance: 'live', stale: false })
    await source.intensityAt('DE', instant(T0 + 1000))
    expect(provider.calls).toBe(1)
    clock.advance(300_001)
    await source.intensityAt('DE', instant(T0 + 1000))
    expect(provider.calls).toBe(2)
  })

  it('falls back to a cached forecast, then last known, then static, marking each', async () => {
    const { clock, provider, source, warnings } = setup()
    await source.series('DE', instant(T0), instant(T0 + 4 * H)) // caches forecasts for T0+2h..T0+4h
    await source.intensityAt('DE', instant(T0)) // last known = the T0 actual
    provider.up = false
    clock.advance(10 * 60_000)
    const f = await source.intensityAt('DE', instant(T0 + 2.5 * H))
    expect(f).toMatchObject({ intensity: 111, provenance: 'forecast', stale: true, forecast: true })
    const k = await source.intensityAt('DE', instant(T0 + 1.5 * H))
    expect(k).toMatchObject({ intensity: 222, provenance: 'last-known', stale: true })
    const s = await source.intensityAt('DE', instant(T0 - 48 * H))
    expect(s).toMatchObject({ zone: 'DE', provenance: 'static', stale: true })
    expect(warnings.some((w) => w.code === 'WL_CARBON_SOURCE_UNAVAILABLE')).toBe(true)
    expect(warnings.some((w) => w.code === 'WL_CARBON_FALLBACK')).toBe(true)
  })

  it('never crashes the caller on provider failure; static covers a failed series', async () => {
    const { provider, source } = setup()
    provider.up = false
    const pts = await source.series('DE', instant(T0), instant(T0 + 3 * H))
    expect(pts).toHaveLength(3)
    expect(pts.every((p) => p.provenance === 'static' && p.stale)).toBe(true)
  })

  it('fills the ends of a short live series from the static table', async () => {
    const { source } = setup()
    const pts = await source.series('DE', instant(T0), instant(T0 + 6 * H))
    expect(pts.map((p) => p.provenance)).toEqual([
      'live',
      'live',
      'forecast',
      'forecast',
      'static',
      'static',
    ])
  })

  it('uses the static table, unflagged, for a zone only it knows', async () => {
    const { source } = setup()
    expect(await source.intensityAt('FR', instant(T0))).toMatchObject({
      provenance: 'static',
      stale: false,
    })
  })

  it('rejects with WL_UNKNOWN_ZONE when no source knows the zone', async () => {
    const { source } = setup()
    const e = await source.intensityAt('XX-NOWHERE', instant(T0)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_UNKNOWN_ZONE')).toBe(true)
  })

  it('throws WL_NO_INTENSITY_DATA only when not even a fallback has a value', async () => {
    const provider = fakeProvider()
    provider.up = false
    const source = createCachingSource({
      sources: [provider],
      clock: fakeClock(T0),
      ttl: ms(1000),
      staleAfter: ms(H),
    })
    const e = await source.intensityAt('DE', instant(T0)).catch((x: unknown) => x)
    expect(hasCode(e, 'WL_NO_INTENSITY_DATA')).toBe(true)
    expect((e as Error).message).toContain('HTTP 503')
  })

  it('coalesces concurrent identical queries into one provider call', async () => {
    const { provider, source } = setup()
    await Promise.all([1, 2, 3].map(() => source.intensityAt('DE', instant(T0))))
    expect(provider.calls).toBe(1)
  })

  it('flags a live value older than stale_after as stale', async () => {
    const { source } = setup()
    const stale = createCachingSource({
      sources: [
        {
          name: 'old',
          signal: 'average',
          intensityAt: (zone) =>
            Promise.resolve({
              zone,
              at: instant(T0 - 5 * H),
              intensity: gramsPerKwh(1),
              signal: 'average',
              source: 'old',
              forecast: false,
              stale: false,
            }),
          series: () => Promise.resolve([]),
        },
      ],
      clock: fakeClock(T0),
      ttl: ms(1000),
      staleAfter: ms(H),
    })
    expect(await stale.intensityAt('DE', instant(T0))).toMatchObject({
      provenance: 'live',
      stale: true,
    })
    expect(source.name).toBe('cache(fake → static)')
  })
})

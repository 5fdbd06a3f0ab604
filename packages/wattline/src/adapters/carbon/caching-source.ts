/**
 * @module adapters/carbon/caching-source
 * The caching / fallback decorator in front of the configured sources. For each query it tries, in
 * order: a fresh cached value; each live source (an actual is provenance `live`, a provider forecast
 * `forecast`); a cached forecast point covering the instant (`forecast`); the last value any source
 * gave for the zone (`last-known`, stale-if-error); the static table (`static`). Every value leaving
 * it carries `provenance` and `stale`. Provider failures are reported through `onWarning`, never
 * thrown: only the absence of any value, even static, is `WL_NO_INTENSITY_DATA`.
 */
import {
  hasCode,
  instant,
  WattlineError,
  type CarbonIntensitySource,
  type Clock,
  type Instant,
  type IntensityPoint,
  type Milliseconds,
  type Provenance,
  type Signal,
} from '@wattline/core'

/** A degraded answer worth logging: a source failed, or a fallback value was served. */
export interface CarbonWarning {
  readonly code: 'WL_CARBON_SOURCE_UNAVAILABLE' | 'WL_CARBON_FALLBACK'
  readonly message: string
  readonly source: string
  readonly zone: string
}

export interface CachingSourceOptions {
  /** Live sources in the order they are tried. */
  readonly sources: readonly CarbonIntensitySource[]
  /** The last resort (the built-in table); `undefined` disables it. */
  readonly fallback?: CarbonIntensitySource
  readonly clock: Clock
  /** How long a fetched value is reused, ms. */
  readonly ttl: Milliseconds
  /** Age (query instant minus value instant) after which a value is flagged stale, ms. */
  readonly staleAfter: Milliseconds
  readonly signal?: Signal
  readonly onWarning?: (warning: CarbonWarning) => void
}

interface Cached<T> {
  readonly value: T
  readonly fetchedAt: number
}

/** The decorator; `name` lists the chain, e.g. `cache(electricitymaps → static)`. */
export function createCachingSource(options: CachingSourceOptions): CarbonIntensitySource {
  const { sources, fallback, clock, ttl, staleAfter } = options
  const pointCache = new Map<string, Cached<IntensityPoint>>()
  const seriesCache = new Map<string, Cached<readonly IntensityPoint[]>>()
  const forecasts = new Map<string, Cached<readonly IntensityPoint[]>>()
  const lastKnown = new Map<string, IntensityPoint>()
  const inFlight = new Map<string, Promise<unknown>>()
  const warn = (w: CarbonWarning): void => options.onWarning?.(w)
  /** Warns that `source` failed for `zone` and returns the failure's description. */
  const reportFailure = (source: CarbonIntensitySource, error: unknown, zone: string): string => {
    const message = describe(source, error)
    warn({ code: 'WL_CARBON_SOURCE_UNAVAILABLE', message, source: source.name, zone })
    return message
  }
  const chain = [...sources, ...(fallback === undefined ? [] : [fallback])]

  function once<T>(key: string, run: () => Promise<T>): Promise<T> {
    const pending = inFlight.get(key) as Promise<T> | undefined
    if (pending !== undefined) return pending
    const p = run().finally(() => inFlight.delete(key))
    inFlight.set(key, p)
    return p
  }

  const fresh = <T>(c: Cached<T> | undefined): c is Cached<T> =>
    c !== undefined && clock.now() - c.fetchedAt < ttl

  async function intensityAt(
    zone: string,
    at: Instant,
    signal?: AbortSignal,
  ): Promise<IntensityPoint> {
    const key = `${zone.toUpperCase()}|${Math.floor(at / ttl)}`
    const hit = pointCache.get(key)
    if (fresh(hit)) return hit.value
    return once(`at|${key}`, async () => {
      const failures: string[] = []
      let unknownEverywhere = true
      for (const source of sources) {
        try {
          const p = await source.intensityAt(zone, at, signal)
          const marked = mark(
            p,
            p.forecast ? 'forecast' : 'live',
            p.stale || at - p.at > staleAfter,
          )
          pointCache.set(key, { value: marked, fetchedAt: clock.now() })
          const known = lastKnown.get(marked.zone)
          if (known === undefined || known.at <= marked.at) lastKnown.set(marked.zone, marked)
          return marked
        } catch (error) {
          if (hasCode(error, 'WL_UNKNOWN_ZONE')) continue
          unknownEverywhere = false
          failures.push(reportFailure(source, error, zone))
        }
      }
      const degraded = sources.length > 0
      const remember = (value: IntensityPoint): IntensityPoint => {
        pointCache.set(key, { value, fetchedAt: clock.now() })
        return value
      }
      const fromForecast = forecastPointAt(zone, at)
      if (fromForecast !== undefined) return remember(served(fromForecast, 'forecast', zone))
      const known = lastKnownAt(zone, at)
      if (known !== undefined) return remember(served(known, 'last-known', zone))
      if (fallback !== undefined) {
        try {
          const p = await fallback.intensityAt(zone, at, signal)
          if (unknownEverywhere) return remember(mark(p, 'static', false))
          return remember(served(p, 'static', zone))
        } catch (error) {
          if (hasCode(error, 'WL_UNKNOWN_ZONE') && unknownEverywhere) throw error
          failures.push(describe(fallback, error))
        }
      } else if (unknownEverywhere && degraded) {
        throw new WattlineError('WL_UNKNOWN_ZONE', `no configured source knows zone "${zone}"`, {
          details: { zone, matches: [] },
        })
      }
      throw noData(zone, failures)
    })
  }

  function served(p: IntensityPoint, provenance: Provenance, zone: string): IntensityPoint {
    const marked = mark(p, provenance, true)
    warn({
      code: 'WL_CARBON_FALLBACK',
      message: `serving ${provenance} value for ${zone} from ${p.source}`,
      source: p.source,
      zone,
    })
    return marked
  }

  function forecastPointAt(zone: string, at: Instant): IntensityPoint | undefined {
    const cached = forecasts.get(zone.toUpperCase())
    if (cached === undefined) return undefined
    const pts = cached.value
    for (let i = pts.length - 1; i >= 0; i--) {
      const p = pts[i] as IntensityPoint
      const next = pts[i + 1]
      const end = next === undefined ? p.at + spacing(pts) : next.at
      if (p.at <= at && at < end) return p
    }
    return undefined
  }

  function lastKnownAt(zone: string, at: Instant): IntensityPoint | undefined {
    for (const [z, p] of lastKnown)
      if (z.toUpperCase() === zone.toUpperCase() && p.at <= at) return p
    return undefined
  }

  async function series(
    zone: string,
    from: Instant,
    to: Instant,
    signal?: AbortSignal,
  ): Promise<readonly IntensityPoint[]> {
    if (to <= from) return []
    const key = `${zone.toUpperCase()}|${from}|${to}`
    const hit = seriesCache.get(key)
    if (fresh(hit)) return hit.value
    return once(`series|${key}`, async () => {
      const failures: string[] = []
      let unknownEverywhere = true
      for (const source of sources) {
        try {
          const pts = await source.series(zone, from, to, signal)
          unknownEverywhere = false
          if (pts.length === 0) continue
          const marked = pts.map((p) => mark(p, p.forecast ? 'forecast' : 'live', p.stale))
          const future = marked.filter((p) => p.forecast)
          if (future.length > 0)
            forecasts.set(zone.toUpperCase(), { value: future, fetchedAt: clock.now() })
          const result = await fillEnds(zone, from, to, marked, signal)
          seriesCache.set(key, { value: result, fetchedAt: clock.now() })
          return result
        } catch (error) {
          if (hasCode(error, 'WL_UNKNOWN_ZONE')) continue
          unknownEverywhere = false
          failures.push(reportFailure(source, error, zone))
        }
      }
      if (fallback === undefined) throw noData(zone, failures)
      try {
        const pts = await fallback.series(zone, from, to, signal)
        const degraded = failures.length > 0
        if (degraded)
          warn({
            code: 'WL_CARBON_FALLBACK',
            message: `serving static series for ${zone}`,
            source: fallback.name,
            zone,
          })
        const result = pts.map((p) => mark(p, 'static', degraded))
        seriesCache.set(key, { value: result, fetchedAt: clock.now() })
        return result
      } catch (error) {
        if (hasCode(error, 'WL_UNKNOWN_ZONE') && (unknownEverywhere || sources.length === 0))
          throw error
        throw noData(zone, [...failures, describe(fallback, error)])
      }
    })
  }

  /** Static points before the first and after the last live point, so a window is fully covered. */
  async function fillEnds(
    zone: string,
    from: Instant,
    to: Instant,
    pts: readonly IntensityPoint[],
    signal?: AbortSignal,
  ): Promise<readonly IntensityPoint[]> {
    if (fallback === undefined) return pts
    const first = pts[0] as IntensityPoint
    const end = (pts[pts.length - 1] as IntensityPoint).at + spacing(pts)
    const before = first.at > from ? await safeSeries(fallback, zone, from, first.at, signal) : []
    const after = end < to ? await safeSeries(fallback, zone, instant(end), to, signal) : []
    const mk = (p: IntensityPoint): IntensityPoint =>
      mark({ ...p, zone: first.zone }, 'static', true)
    return [
      ...before.filter((p) => p.at < first.at).map(mk),
      ...pts,
      ...after.filter((p) => p.at >= end).map(mk),
    ]
  }

  return {
    name: `cache(${chain.map((s) => s.name).join(' → ')})`,
    signal: options.signal ?? sources[0]?.signal ?? fallback?.signal ?? 'average',
    intensityAt,
    series,
    zones(): readonly string[] {
      return [...new Set(chain.flatMap((s) => s.zones?.() ?? []))].sort()
    },
  }
}

function mark(p: IntensityPoint, provenance: Provenance, stale: boolean): IntensityPoint {
  return { ...p, provenance, stale: p.stale || stale }
}

function spacing(pts: readonly IntensityPoint[]): number {
  if (pts.length < 2) return 3_600_000
  return (pts[pts.length - 1] as IntensityPoint).at - (pts[pts.length - 2] as IntensityPoint).at
}

async function safeSeries(
  source: CarbonIntensitySource,
  zone: string,
  from: Instant,
  to: Instant,
  signal?: AbortSignal,
): Promise<readonly IntensityPoint[]> {
  try {
    return await source.series(zone, from, to, signal)
  } catch {
    // The fill is best effort: a window the table cannot cover simply stays shorter.
    return []
  }
}

function describe(source: CarbonIntensitySource, error: unknown): string {
  const msg = error instanceof Error ? error.message : String(error)
  return `${source.name}: ${msg}`
}

function noData(zone: string, failures: readonly string[]): WattlineError {
  return new WattlineError(
    'WL_NO_INTENSITY_DATA',
    `no intensity value for ${zone} from any source${failures.length > 0 ? ` (${failures.join('; ')})` : ''}`,
    { details: { zone, failures } },
  )
}

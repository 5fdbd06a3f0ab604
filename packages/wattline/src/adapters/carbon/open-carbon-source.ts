/**
 * @module adapters/carbon/open-carbon-source
 * The one place a carbon source is built from configuration: the gateway (compose/live.ts),
 * `wattline intensity` and `wattline replay --carbon` all call `openCarbonSource`, with the parsed
 * `carbon:` section or a command-line spec parsed into the same shape (grammar: carbon-spec.ts).
 *
 * Two modes:
 * - `live` (the gateway, `intensity --config`): the configured sources in order behind the caching /
 *   fallback decorator (cache_ttl_s, stale_after_s, forecast, last-known), the built-in table last.
 * - `direct` (replay, `intensity --source`): the sources exactly as given, in order, per zone the
 *   first that knows it; no cache, no silent fallback. A past window an API source cannot serve is
 *   `WL_NO_INTENSITY_DATA` naming the zone, the window and how that provider serves history.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Dispatcher } from 'undici'
import {
  hasCode,
  ms,
  WattlineError,
  type CarbonIntensitySource,
  type Clock,
  type Instant,
} from '@wattline/core'
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  type CarbonConfig,
  type CarbonSourceConfig,
} from '../../config/carbon.ts'
import { createBuiltinSource } from './builtin-source.ts'
import { createCachingSource, type CarbonWarning } from './caching-source.ts'
import { createCarbonAwareSdkSource } from './carbon-aware-sdk-source.ts'
import { parseCarbonSpec, type CarbonSpecKind } from './carbon-spec.ts'
import { createDetectedFileSource } from './detected-file-source.ts'
import { createElectricityMapsApiSource } from './electricitymaps-api-source.ts'
import { createElectricityMapsCsvSource } from './electricitymaps-csv-source.ts'
import { createFixedSource } from './fixed-source.ts'
import { createGenericFileSource } from './generic-file-source.ts'
import type { HttpDeps } from './http-json.ts'
import { createUkCarbonIntensitySource } from './uk-carbon-intensity-source.ts'
import { createWattTimeApiSource } from './watttime-api-source.ts'
import { createWattTimeCsvSource } from './watttime-csv-source.ts'

/** How each kind serves values of the past (what a replay needs); docs/carbon.md repeats it. */
export const CARBON_SOURCE_HISTORY: Readonly<Record<CarbonSpecKind, string>> = {
  builtin: 'any date, as a typical year (modelled, not that day’s grid)',
  static: 'any date (fixed values, or the built-in typical year)',
  csv: 'the time span of its files',
  json: 'the time span of its files',
  'electricitymaps-csv': 'the time span of its files',
  'watttime-csv': 'the time span of its files',
  electricitymaps:
    'the last 24 h through /v3/carbon-intensity/history; older windows through /v3/carbon-intensity/past-range, which needs an API plan that includes it',
  watttime: '/v3/historical, which needs a WattTime account with historical data access',
  'uk-carbon-intensity': '/intensity/{from}/{to}, GB only, as far back as the API publishes',
  'carbon-aware-sdk':
    '/emissions/bylocation, as far back as the SDK’s configured data source holds history',
}

/** Kinds that ask a provider over the network (their failures are not the data's absence). */
const API_KINDS: ReadonlySet<string> = new Set([
  'electricitymaps',
  'watttime',
  'uk-carbon-intensity',
  'carbon-aware-sdk',
])

/** A window older than this before `clock.now()` is "the past" (a replay, a history lookup). */
const PAST_MARGIN_MS = 3_600_000

export interface OpenCarbonDeps {
  /** `live`: the gateway's cached fallback chain; `direct`: the sources as given (replay). */
  readonly mode: 'live' | 'direct'
  /** Times the cache (live) and tells the past from now (direct). */
  readonly clock: Clock
  /** Where `*_env` names are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Relative file paths resolve against this folder (the config file's, or the working directory). */
  readonly baseDir: string
  /** Names the spec's origin in errors (default `--carbon`). */
  readonly flag?: string
  readonly fetch?: typeof globalThis.fetch
  readonly dispatcher?: Dispatcher
  readonly onWarning?: (warning: CarbonWarning) => void
}

/** The opened source, plus what replay needs before it starts. */
export interface OpenedCarbonSource extends CarbonIntensitySource {
  /** The parsed spec it was opened from. */
  readonly spec: CarbonConfig
  /**
   * Loads file sources now (to fail fast) and resolves to every zone the sources list, or
   * `undefined` when one of them cannot list its zones (an API).
   */
  preload(): Promise<readonly string[] | undefined>
}

type Opened = CarbonIntensitySource & { preload?: () => Promise<readonly string[]> }

/** Opens the carbon source `spec` describes (a parsed `carbon:` section or a spec string). */
export function openCarbonSource(
  spec: CarbonConfig | string,
  deps: OpenCarbonDeps,
): OpenedCarbonSource {
  const config =
    typeof spec === 'string'
      ? parseCarbonSpec(spec, {
          flag: deps.flag ?? '--carbon',
          isPath: (p) => existsSync(resolve(deps.baseDir, p)),
        })
      : spec
  if (deps.mode === 'live') {
    const live = config.sources
      .filter((s) => s.type !== 'builtin' && !(s.type === 'static' && s.values === undefined))
      .map((s) => openOne(s, config, deps))
    const chain = createCachingSource({
      sources: live,
      fallback: createBuiltinSource(),
      clock: deps.clock,
      ttl: ms(config.cache_ttl_s * 1000),
      staleAfter: ms(config.stale_after_s * 1000),
      signal: config.signal,
      ...(deps.onWarning === undefined ? {} : { onWarning: deps.onWarning }),
    })
    return withPreload(chain, config, [...live, createBuiltinSource()])
  }
  const sources = config.sources.map((s) => explainPast(openOne(s, config, deps), s.type, deps))
  const only = sources[0]
  if (only === undefined) throw new WattlineError('WL_INVALID_INPUT', 'no carbon source given')
  return withPreload(sources.length === 1 ? only : firstThatKnows(sources), config, sources)
}

function withPreload(
  source: CarbonIntensitySource,
  spec: CarbonConfig,
  parts: readonly Opened[],
): OpenedCarbonSource {
  return {
    name: source.name,
    get signal() {
      return source.signal
    },
    intensityAt: (zone, at, signal) => source.intensityAt(zone, at, signal),
    series: (zone, from, to, signal) => source.series(zone, from, to, signal),
    ...(source.zones === undefined ? {} : { zones: () => source.zones?.() ?? [] }),
    spec,
    async preload() {
      const lists = await Promise.all(parts.map((p) => p.preload?.() ?? p.zones?.()))
      if (lists.some((l) => l === undefined)) return undefined
      return [...new Set(lists.flat() as string[])].sort()
    },
  }
}

/** Per zone, the first source that knows it (`WL_UNKNOWN_ZONE` moves on; other errors stop). */
function firstThatKnows(sources: readonly Opened[]): Opened {
  async function first<T>(zone: string, ask: (s: Opened) => Promise<T>): Promise<T> {
    const unknown: unknown[] = []
    for (const s of sources) {
      try {
        return await ask(s)
      } catch (error) {
        if (!hasCode(error, 'WL_UNKNOWN_ZONE')) throw error
        unknown.push(error)
      }
    }
    throw new WattlineError(
      'WL_UNKNOWN_ZONE',
      `no source of ${sources.map((s) => s.name).join(' + ')} knows zone "${zone}"`,
      { details: { zone, matches: [] }, cause: unknown[0] },
    )
  }
  const lists = (): readonly string[] | undefined => {
    const all = sources.map((s) => s.zones?.())
    return all.some((l) => l === undefined)
      ? undefined
      : [...new Set(all.flat() as string[])].sort()
  }
  return {
    name: sources.map((s) => s.name).join(' + '),
    signal: sources[0]?.signal ?? 'average',
    intensityAt: (zone, at, signal) => first(zone, (s) => s.intensityAt(zone, at, signal)),
    series: (zone, from, to, signal) => first(zone, (s) => s.series(zone, from, to, signal)),
    ...(lists() === undefined ? {} : { zones: () => lists() ?? [] }),
  }
}

/**
 * In direct mode, an API source that fails for a window in the past becomes `WL_NO_INTENSITY_DATA`
 * naming the zone, the window and how the provider serves history (a free plan without past-range,
 * an account without historical access…); failures about the present pass through unchanged.
 */
function explainPast(
  source: Opened,
  kind: CarbonSourceConfig['type'],
  deps: OpenCarbonDeps,
): Opened {
  if (!API_KINDS.has(kind)) return source
  const past = (to: number): boolean => to < deps.clock.now() - PAST_MARGIN_MS
  const explain = async <T>(zone: string, from: Instant, to: Instant, run: () => Promise<T>) => {
    try {
      return await run()
    } catch (error) {
      if (!hasCode(error, 'WL_CARBON_SOURCE_UNAVAILABLE') || !past(to)) throw error
      const window = `${iso(from)} – ${iso(to)}`
      throw new WattlineError(
        'WL_NO_INTENSITY_DATA',
        `${source.name} could not serve the history of zone ${zone} for ${window} (${(error as Error).message}); it serves the past through ${CARBON_SOURCE_HISTORY[kind as CarbonSpecKind]}. Without that access, export the data and use csv:<folder>, or builtin for a typical year`,
        {
          cause: error,
          details: { zone, source: source.name, from: iso(from), to: iso(to), lacks: 'history' },
        },
      )
    }
  }
  return {
    ...source,
    name: source.name,
    signal: source.signal,
    intensityAt: (zone, at, signal) =>
      explain(zone, at, at, () => source.intensityAt(zone, at, signal)),
    series: (zone, from, to, signal) =>
      explain(zone, from, to, () => source.series(zone, from, to, signal)),
  }
}

function openOne(s: CarbonSourceConfig, config: CarbonConfig, deps: OpenCarbonDeps): Opened {
  const path = (p: string): string => resolve(deps.baseDir, p)
  const http = (timeout: number | undefined): HttpDeps => ({
    timeoutMs: timeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
  })
  const secret = (name: string, field: string): string => {
    const value = deps.env[name]
    if (value === undefined || value === '') {
      throw new WattlineError(
        'WL_CONFIG_INVALID',
        `carbon source ${s.type}: environment variable ${name} (${field}) is not set`,
        { details: { field: `carbon.sources.${field}`, env: name } },
      )
    }
    return value
  }
  const opt = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
    value === undefined ? {} : ({ [key]: value } as Record<K, V>)
  switch (s.type) {
    case 'builtin':
      return createBuiltinSource()
    case 'static':
      return s.values === undefined
        ? createBuiltinSource()
        : createFixedSource({ values: s.values, signal: config.signal })
    case 'electricitymaps-csv':
      return createElectricityMapsCsvSource({ path: path(s.path) })
    case 'watttime-csv':
      return createWattTimeCsvSource({ path: path(s.path), ...opt('zone', s.zone) })
    case 'csv':
      return createDetectedFileSource({
        path: path(s.path),
        signal: config.signal,
        requireSignal: deps.mode === 'live',
      })
    case 'json':
      return createGenericFileSource({ path: path(s.path), format: 'json', signal: config.signal })
    case 'electricitymaps':
      return createElectricityMapsApiSource(
        {
          apiKey: secret(s.api_key_env, 'api_key_env'),
          ...opt('baseUrl', s.base_url),
          ...opt('zoneMap', s.zone_map),
        },
        http(s.timeout_ms),
      )
    case 'watttime':
      return createWattTimeApiSource(
        {
          username: secret(s.username_env, 'username_env'),
          password: secret(s.password_env, 'password_env'),
          signal: config.signal,
          ...opt('baseUrl', s.base_url),
          ...opt('regionMap', s.region_map),
        },
        http(s.timeout_ms),
      )
    case 'uk-carbon-intensity':
      return createUkCarbonIntensitySource(
        { ...opt('baseUrl', s.base_url), ...opt('regionId', s.region_id) },
        http(s.timeout_ms),
      )
    case 'carbon-aware-sdk':
      return createCarbonAwareSdkSource(
        {
          baseUrl: s.base_url,
          signal: s.signal ?? config.signal,
          ...opt('locationMap', s.location_map),
        },
        http(s.timeout_ms),
      )
  }
}

function iso(t: number): string {
  return new Date(t).toISOString()
}

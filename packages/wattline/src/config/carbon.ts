/**
 * @module config/carbon
 * The `carbon:` section of wattline.yaml: which intensity signal to use, the sources in the order
 * they are tried, and the cache/freshness windows. The built-in static table is always appended as
 * the last fallback, so an empty or failing source list still answers for every known zone.
 */
import { resolve } from 'node:path'
import type { Dispatcher } from 'undici'
import * as z from 'zod'
import { ms, SIGNALS, WattlineError, type CarbonIntensitySource, type Clock } from '@wattline/core'
import { createBuiltinSource } from '../adapters/carbon/builtin-source.ts'
import { createCachingSource, type CarbonWarning } from '../adapters/carbon/caching-source.ts'
import { createCarbonAwareSdkSource } from '../adapters/carbon/carbon-aware-sdk-source.ts'
import { createElectricityMapsApiSource } from '../adapters/carbon/electricitymaps-api-source.ts'
import { createElectricityMapsCsvSource } from '../adapters/carbon/electricitymaps-csv-source.ts'
import { createGenericFileSource } from '../adapters/carbon/generic-file-source.ts'
import type { HttpDeps } from '../adapters/carbon/http-json.ts'
import { createUkCarbonIntensitySource } from '../adapters/carbon/uk-carbon-intensity-source.ts'
import { createWattTimeApiSource } from '../adapters/carbon/watttime-api-source.ts'
import { createWattTimeCsvSource } from '../adapters/carbon/watttime-csv-source.ts'

/** Default cache time-to-live of a fetched value, seconds. */
export const DEFAULT_CACHE_TTL_S = 300
/** Default age after which a value is flagged `stale`, seconds. */
export const DEFAULT_STALE_AFTER_S = 3600
/** Default timeout of one provider HTTP request, milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })
const filePath = z.string().min(1, { error: 'path must not be empty' })
const baseUrl = z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' })
const zoneMap = z.record(z.string().min(1), z.string().min(1))
const timeoutMs = z.int().positive().max(120_000).optional()

/** One configured intensity source (discriminated by `type`). */
export const carbonSourceConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('static') }),
  z.strictObject({ type: z.literal('electricitymaps-csv'), path: filePath }),
  z.strictObject({
    type: z.literal('watttime-csv'),
    path: filePath,
    zone: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal('csv'), path: filePath }),
  z.strictObject({ type: z.literal('json'), path: filePath }),
  z.strictObject({
    type: z.literal('electricitymaps'),
    api_key_env: envName,
    base_url: baseUrl.optional(),
    /** Our zone id → Electricity Maps zone id, where they differ. */
    zone_map: zoneMap.optional(),
    timeout_ms: timeoutMs,
  }),
  z.strictObject({
    type: z.literal('watttime'),
    username_env: envName,
    password_env: envName,
    base_url: baseUrl.optional(),
    /** Our zone id → WattTime region (e.g. US-CAL-CISO → CAISO_NORTH); built-in defaults otherwise. */
    region_map: zoneMap.optional(),
    timeout_ms: timeoutMs,
  }),
  z.strictObject({
    type: z.literal('uk-carbon-intensity'),
    base_url: baseUrl.optional(),
    /** National Grid ESO regional id (1–17) for a regional series instead of the national one. */
    region_id: z.int().min(1).max(17).optional(),
    timeout_ms: timeoutMs,
  }),
  z.strictObject({
    type: z.literal('carbon-aware-sdk'),
    base_url: baseUrl,
    /** Our zone id → the SDK's location name (e.g. DE → germanywestcentral). */
    location_map: zoneMap.optional(),
    /** The signal the SDK's configured data source returns (WattTime: marginal; Electricity Maps: average). */
    signal: z.enum(SIGNALS).optional(),
    timeout_ms: timeoutMs,
  }),
])
export type CarbonSourceConfig = z.infer<typeof carbonSourceConfigSchema>

/** The `carbon:` section. Defaults: average signal, the static table only. */
export const carbonConfigSchema = z
  .strictObject({
    /** `average` (attributional accounting) or `marginal` (the effect of one more kWh). */
    signal: z.enum(SIGNALS).default('average'),
    /** Sources tried in order; the static table is always the last fallback. */
    sources: z.array(carbonSourceConfigSchema).default([{ type: 'static' }]),
    /** How long a fetched value is reused before the provider is asked again, seconds. */
    cache_ttl_s: z.number().positive().max(86_400).default(DEFAULT_CACHE_TTL_S),
    /** Age after which a value (live, forecast or last known) is flagged `stale`, seconds. */
    stale_after_s: z
      .number()
      .positive()
      .max(30 * 86_400)
      .default(DEFAULT_STALE_AFTER_S),
  })
  .superRefine((config, ctx) => {
    config.sources.forEach((source, index) => {
      const fixed = FIXED_SIGNAL[source.type]
      if (fixed !== undefined && fixed !== config.signal) {
        ctx.addIssue({
          code: 'custom',
          path: ['sources', index, 'type'],
          message: `source ${source.type} gives ${fixed} intensity but carbon.signal is ${config.signal}`,
        })
      }
    })
  })
  .prefault({})
export type CarbonConfig = z.infer<typeof carbonConfigSchema>

/** Sources whose signal is fixed by the data they read (the static table is exempt: last resort). */
const FIXED_SIGNAL: Partial<Record<CarbonSourceConfig['type'], 'average' | 'marginal'>> = {
  'electricitymaps-csv': 'average',
  'watttime-csv': 'marginal',
  electricitymaps: 'average',
  'uk-carbon-intensity': 'average',
}

/** Collaborators of `createCarbonSourceFromConfig`. */
export interface CarbonSourceDeps {
  readonly clock: Clock
  /** Where `*_env` names are looked up. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Relative file paths resolve against this folder (the config file's). */
  readonly baseDir: string
  readonly fetch?: typeof globalThis.fetch
  readonly dispatcher?: Dispatcher
  readonly onWarning?: (warning: CarbonWarning) => void
}

/**
 * Builds the one `CarbonIntensitySource` the gateway and the CLI use: the configured sources in
 * order, wrapped in the caching/fallback decorator with the built-in static table last. A missing
 * secret is `WL_CONFIG_INVALID` naming the variable.
 */
export function createCarbonSourceFromConfig(
  config: CarbonConfig,
  deps: CarbonSourceDeps,
): CarbonIntensitySource {
  const live = config.sources
    .filter((s) => s.type !== 'static')
    .map((s) => createOne(s, config, deps))
  return createCachingSource({
    sources: live,
    fallback: createBuiltinSource(),
    clock: deps.clock,
    ttl: ms(config.cache_ttl_s * 1000),
    staleAfter: ms(config.stale_after_s * 1000),
    signal: config.signal,
    ...(deps.onWarning === undefined ? {} : { onWarning: deps.onWarning }),
  })
}

function createOne(
  s: Exclude<CarbonSourceConfig, { type: 'static' }>,
  config: CarbonConfig,
  deps: CarbonSourceDeps,
): CarbonIntensitySource {
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
    case 'electricitymaps-csv':
      return createElectricityMapsCsvSource({ path: path(s.path) })
    case 'watttime-csv':
      return createWattTimeCsvSource({ path: path(s.path), ...opt('zone', s.zone) })
    case 'csv':
    case 'json':
      return createGenericFileSource({ path: path(s.path), format: s.type, signal: config.signal })
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

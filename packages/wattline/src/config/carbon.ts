/**
 * @module config/carbon
 * The `carbon:` section of wattline.yaml: which intensity signal to use, the sources in the order
 * they are tried, and the cache/freshness windows. The built-in static table is always appended as
 * the last fallback, so an empty or failing source list still answers for every known zone.
 * `openCarbonSource` (adapters/carbon/open-carbon-source.ts) turns this section, or a CLI spec string
 * parsed into the same shape, into the one `CarbonIntensitySource` the gateway and the CLI use.
 */
import * as z from 'zod'
import { SIGNALS } from '@wattline/core'

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
  z.strictObject({
    type: z.literal('static'),
    /**
     * Fixed intensity per zone, gCO2e/kWh (`{FR: 50, DE: 300}`); without it, `static` is the
     * built-in table (as `builtin`).
     */
    values: z.record(z.string().min(1), z.number().nonnegative().max(5000)).optional(),
  }),
  /** The built-in table (annual means shaped by typical hourly profiles). */
  z.strictObject({ type: z.literal('builtin') }),
  z.strictObject({ type: z.literal('electricitymaps-csv'), path: filePath }),
  z.strictObject({
    type: z.literal('watttime-csv'),
    path: filePath,
    zone: z.string().min(1).optional(),
  }),
  /**
   * A data file or folder whose format is detected from its header: an Electricity Maps export, a
   * WattTime MOER CSV, or the generic `zone,datetime,intensity_g_per_kwh` CSV/JSON.
   */
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
export const FIXED_SIGNAL: Partial<Record<CarbonSourceConfig['type'], 'average' | 'marginal'>> = {
  'electricitymaps-csv': 'average',
  'watttime-csv': 'marginal',
  electricitymaps: 'average',
  'uk-carbon-intensity': 'average',
}

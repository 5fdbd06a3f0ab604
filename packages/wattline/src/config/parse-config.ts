/**
 * @module config/parse-config
 * Turns a plain value (from YAML) into a frozen, validated `WattlineConfig`. Pure: the catalogues
 * (hardware, zones, regions, models) and the environment arrive as arguments. Every problem is
 * collected with its path; nothing is thrown.
 */
import { checkTiers, type Result } from '@wattline/core'
import type * as z from 'zod'
import {
  configSchema,
  type RawBackendConfig,
  type RawWattlineConfig,
  type ServiceConfig,
} from './schema.ts'
import { coreTiers } from './tiers.ts'
import { checkTenants, readTenantKeys, type TenantKey } from './tenants.ts'
import { checkPlacement, EDGE_RUNTIME, edgeDefaultPrecision } from './placement.ts'

/** One problem in the config, at a path such as `['backends', 1, 'zone']`. */
export interface ConfigIssue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

/** A catalogue answer: the canonical id, or close matches for the error message. */
export type Lookup =
  | { readonly ok: true; readonly value: string }
  | {
      readonly ok: false
      readonly matches: readonly string[]
      /** Every valid id, when the list is short enough to print (hardware). */
      readonly known?: readonly string[]
    }

/** What config validation needs to know about the world; `config/catalog.ts` builds the real one. */
export interface ConfigCatalog {
  hardware(id: string): Lookup
  zone(id: string): Lookup
  /** Cloud region (`aws:eu-central-1`) → zone. */
  region(id: string): Lookup
  /** Model id or alias → canonical id. */
  model(id: string): Lookup
}

/** A backend with its zone, hardware and model ids resolved. */
export interface BackendConfig extends RawBackendConfig {
  readonly zone: string
  /** Canonical hardware id from the catalogue. */
  readonly hardware: string
  /** Client model name → canonical catalogue id (or the name itself with `active_params_b`). */
  readonly canonical_models: Readonly<Record<string, string>>
}

/** Secrets read from the environment at load; never logged, never serialised. */
export interface ConfigSecrets {
  /** Backend id → upstream bearer key. */
  readonly backendKeys: ReadonlyMap<string, string>
  /** Tenant keys as SHA-256 digests (config/tenants.ts). */
  readonly tenantKeys: readonly TenantKey[]
  readonly metricsToken?: string
  readonly adminToken?: string
  /** The Redis URL of `cluster.redis_url_env` (it may hold a password). */
  readonly redisUrl?: string
  /** The Redis URL of the response cache (`cache.redis_url_env`, else the cluster's); `cache.store: redis` only. */
  readonly cacheRedisUrl?: string
  /** Collector headers of `telemetry.otlp.headers_env` (`key=value,…`; may hold an API key). */
  readonly telemetryHeaders?: Readonly<Record<string, string>>
}

export interface WattlineConfig extends Omit<RawWattlineConfig, 'backends'> {
  readonly backends: readonly BackendConfig[]
  /** Name of the default service. */
  readonly defaultService: string
  readonly secrets: ConfigSecrets
}

export interface ParseDeps {
  readonly catalog: ConfigCatalog
  readonly env: Readonly<Record<string, string | undefined>>
}

/** Validates `input` against the schema and the cross-field rules. */
export function parseConfig(input: unknown, deps: ParseDeps): Result<WattlineConfig, ConfigIssue> {
  const parsed = configSchema.safeParse(input ?? {})
  if (!parsed.success) return { ok: false, issues: fromZod(parsed.error) }
  const raw = parsed.data
  const issues: ConfigIssue[] = []
  const rawBackends = (input as { backends?: unknown } | undefined)?.backends
  const backends = raw.backends.map((b, i) =>
    resolveBackend(
      b,
      i,
      deps.catalog,
      issues,
      Array.isArray(rawBackends) ? (rawBackends[i] as unknown) : undefined,
    ),
  )
  checkUnique(
    raw.backends.map((b) => b.id),
    'backends',
    'id',
    'backend id',
    issues,
  )
  checkUnique(
    raw.services.map((s) => s.name),
    'services',
    'name',
    'service name',
    issues,
  )
  const defaultService = pickDefault(raw.services, issues)
  checkServices(raw.services, raw.backends, issues)
  checkTenants(raw.services, issues)
  const secrets = readSecrets(raw, deps.env, issues)
  if (issues.length > 0) return { ok: false, issues }
  return {
    ok: true,
    value: deepFreeze({ ...raw, backends, defaultService, secrets }),
  }
}

/** Formats an issue as `path: message`, e.g. `backends[1].zone: unknown zone "XX"`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`
  return out === '' ? '(root)' : out
}

function fromZod(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => ({
    path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
    message:
      i.code === 'unrecognized_keys'
        ? `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`
        : i.message,
  }))
}

function resolveBackend(
  b: RawBackendConfig,
  i: number,
  catalog: ConfigCatalog,
  issues: ConfigIssue[],
  rawBackend?: unknown,
): BackendConfig {
  const hw = catalog.hardware(b.hardware)
  if (!hw.ok)
    issues.push({
      path: ['backends', i, 'hardware'],
      message: unknown('hardware', b.hardware, hw.matches, hw.known),
    })
  let zone = b.zone ?? ''
  if (b.zone !== undefined) {
    const z = catalog.zone(b.zone)
    if (z.ok) zone = z.value
    else issues.push({ path: ['backends', i, 'zone'], message: unknown('zone', b.zone, z.matches) })
  } else if (b.region !== undefined) {
    const r = catalog.region(b.region)
    if (r.ok) zone = r.value
    else
      issues.push({
        path: ['backends', i, 'region'],
        message: unknown('region', b.region, r.matches),
      })
  }
  const canonical: Record<string, string> = {}
  b.models.forEach((m, j) => {
    const found = catalog.model(m)
    if (found.ok) canonical[m] = found.value
    else if (b.active_params_b !== undefined) canonical[m] = m
    else {
      issues.push({
        path: ['backends', i, 'models', j],
        message: `${unknown('model', m, found.matches)}; or set active_params_b to estimate it from its size`,
      })
    }
  })
  const m = b.meter
  if (m.type !== 'modelled' && m.stale_after_ms !== undefined && m.stale_after_ms < m.interval_ms) {
    issues.push({
      path: ['backends', i, 'meter', 'stale_after_ms'],
      message: `stale_after_ms (${m.stale_after_ms} ms) must be at least interval_ms (${m.interval_ms} ms): a reading cannot be due before the next poll`,
    })
  }
  for (const name of Object.keys(b.model_names)) {
    if (!b.models.includes(name)) {
      issues.push({
        path: ['backends', i, 'model_names', name],
        message: `"${name}" is not in this backend's models`,
      })
    }
  }
  const placement = { placement: b.placement, hardware: b.hardware, raw: rawBackend }
  for (const p of checkPlacement(placement)) {
    issues.push({ path: ['backends', i, p.field], message: p.message })
  }
  const rawPrecision = (rawBackend as { precision?: unknown } | undefined)?.precision
  const edge =
    b.placement === 'edge'
      ? {
          max_concurrency: EDGE_RUNTIME.maxConcurrency,
          pue: EDGE_RUNTIME.pue,
          ...(rawPrecision === undefined
            ? { precision: edgeDefaultPrecision(b.hardware, b.models, b.precision) }
            : {}),
        }
      : {}
  return {
    ...b,
    ...edge,
    zone,
    hardware: hw.ok ? hw.value : b.hardware,
    canonical_models: canonical,
  }
}

function unknown(
  what: string,
  value: string,
  matches: readonly string[],
  known?: readonly string[],
): string {
  const hint =
    matches.length > 0 ? ` (did you mean ${matches.map((m) => `'${m}'`).join(', ')}?)` : ''
  const list = known === undefined ? '' : `; known: ${known.join(', ')}`
  return `unknown ${what} '${value}'${hint}${list}`
}

function checkUnique(
  values: readonly string[],
  list: string,
  field: string,
  what: string,
  issues: ConfigIssue[],
): void {
  const seen = new Map<string, number>()
  values.forEach((v, i) => {
    const first = seen.get(v)
    if (first !== undefined)
      issues.push({
        path: [list, i, field],
        message: `duplicate ${what} '${v}' (first at ${list}[${first}])`,
      })
    else seen.set(v, i)
  })
}

function pickDefault(services: readonly ServiceConfig[], issues: ConfigIssue[]): string {
  const defaults = services.flatMap((s, i) => (s.default ? [i] : []))
  if (defaults.length > 1) {
    for (const i of defaults.slice(1)) {
      issues.push({
        path: ['services', i, 'default'],
        message: `only one service may be the default (services[${defaults[0]}] already is)`,
      })
    }
  }
  if (defaults.length === 0 && services.length > 1) {
    issues.push({ path: ['services'], message: 'mark one service with default: true' })
  }
  return services[defaults[0] ?? 0]?.name ?? ''
}

function checkServices(
  services: readonly ServiceConfig[],
  backends: readonly RawBackendConfig[],
  issues: ConfigIssue[],
): void {
  const ids = new Set(backends.map((b) => b.id))
  services.forEach((s, i) => {
    s.backends?.forEach((id, j) => {
      if (!ids.has(id))
        issues.push({ path: ['services', i, 'backends', j], message: `unknown backend '${id}'` })
    })
    const usable = backends.filter((b) => s.backends === undefined || s.backends.includes(b.id))
    if (usable.length === 0)
      issues.push({ path: ['services', i], message: 'no backend serves this service' })
    s.models?.forEach((m, j) => {
      if (!usable.some((b) => b.models.includes(m))) {
        issues.push({
          path: ['services', i, 'models', j],
          message: `no backend of this service serves model '${m}'`,
        })
      }
    })
    if (s.tiers !== undefined) checkServiceTiers(s, i, usable, issues)
  })
}

/** A service's `tiers`: served models, conditions present and usable (docs/gateway.md "Quality tiers"). */
function checkServiceTiers(
  s: ServiceConfig,
  i: number,
  usable: readonly RawBackendConfig[],
  issues: ConfigIssue[],
): void {
  const tiers = s.tiers ?? []
  const served = [...new Set(usable.flatMap((b) => b.models))]
  tiers.forEach((t, j) => {
    if (!served.includes(t.model)) {
      issues.push({
        path: ['services', i, 'tiers', j, 'model'],
        message: `unknown model '${t.model}' for service '${s.name}'; known (served by its backends): ${served.join(', ')}`,
      })
    } else if (s.models !== undefined && !s.models.includes(t.model)) {
      issues.push({
        path: ['services', i, 'tiers', j, 'model'],
        message: `model '${t.model}' is not in this service's models (${s.models.join(', ')})`,
      })
    }
    if (t.when?.budget_pressure === true && s.budget?.watch.enabled !== true) {
      issues.push({
        path: ['services', i, 'tiers', j, 'when', 'budget_pressure'],
        message:
          'budget_pressure needs a budget with its watch enabled on this service (budget.watch): pressure is what the watch projects',
      })
    }
  })
  for (const problem of checkTiers(coreTiers(tiers))) {
    issues.push({
      path: ['services', i, 'tiers', problem.index, problem.field],
      message: problem.message,
    })
  }
}

function readSecrets(
  raw: RawWattlineConfig,
  env: ParseDeps['env'],
  issues: ConfigIssue[],
): ConfigSecrets {
  const need = (name: string, path: (string | number)[]): string => {
    const value = env[name]
    if (value === undefined || value === '') {
      issues.push({ path, message: `environment variable ${name} is not set` })
      return ''
    }
    return value
  }
  const backendKeys = new Map<string, string>()
  raw.backends.forEach((b, i) => {
    if (b.api_key_env !== undefined)
      backendKeys.set(b.id, need(b.api_key_env, ['backends', i, 'api_key_env']))
  })
  const tenantKeys = readTenantKeys(raw.services, need, issues)
  const g = raw.gateway
  const redisUrlEnv = raw.cluster?.redis_url_env
  const redisUrl =
    redisUrlEnv === undefined ? undefined : need(redisUrlEnv, ['cluster', 'redis_url_env'])
  if (redisUrl !== undefined && redisUrl !== '' && !/^rediss?:\/\/\S+$/.test(redisUrl)) {
    issues.push({
      path: ['cluster', 'redis_url_env'],
      message: `environment variable ${redisUrlEnv} must hold a redis:// or rediss:// URL`,
    })
  }
  const cacheRedisUrl = readCacheRedisUrl(raw, need, redisUrl, issues)
  const headersEnv = raw.telemetry?.otlp.headers_env
  const telemetryHeaders =
    headersEnv === undefined
      ? undefined
      : parseHeaderList(need(headersEnv, ['telemetry', 'otlp', 'headers_env']), headersEnv, issues)
  return {
    backendKeys,
    tenantKeys,
    ...(telemetryHeaders === undefined ? {} : { telemetryHeaders }),
    ...(g.metrics_token_env === undefined
      ? {}
      : { metricsToken: need(g.metrics_token_env, ['gateway', 'metrics_token_env']) }),
    ...(g.admin_token_env === undefined
      ? {}
      : { adminToken: need(g.admin_token_env, ['gateway', 'admin_token_env']) }),
    ...(redisUrl === undefined ? {} : { redisUrl }),
    ...(cacheRedisUrl === undefined ? {} : { cacheRedisUrl }),
  }
}

/** The response cache's Redis URL when `cache.store` is `redis` (its own env var, else the cluster's). */
function readCacheRedisUrl(
  raw: RawWattlineConfig,
  need: (name: string, path: (string | number)[]) => string,
  clusterUrl: string | undefined,
  issues: ConfigIssue[],
): string | undefined {
  const c = raw.cache
  if (c.store !== 'redis') return undefined
  if (c.redis_url_env === undefined) {
    if (clusterUrl === undefined)
      issues.push({
        path: ['cache', 'redis_url_env'],
        message: 'store: redis needs redis_url_env (or a cluster: section whose Redis it shares)',
      })
    return clusterUrl
  }
  const url = need(c.redis_url_env, ['cache', 'redis_url_env'])
  if (url !== '' && !/^rediss?:\/\/\S+$/.test(url)) {
    issues.push({
      path: ['cache', 'redis_url_env'],
      message: `environment variable ${c.redis_url_env} must hold a redis:// or rediss:// URL`,
    })
  }
  return url
}

/** `key=value,key2=value2` (the OTEL_EXPORTER_OTLP_HEADERS format) → headers; issues name the env var, never the values. */
function parseHeaderList(text: string, env: string, issues: ConfigIssue[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const part of text.split(',')) {
    if (part.trim() === '') continue
    const eq = part.indexOf('=')
    const key = eq <= 0 ? '' : part.slice(0, eq).trim()
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) {
      issues.push({
        path: ['telemetry', 'otlp', 'headers_env'],
        message: `environment variable ${env} must hold key=value pairs separated by commas`,
      })
      return {}
    }
    const value = part.slice(eq + 1).trim()
    try {
      headers[key] = decodeURIComponent(value)
    } catch {
      headers[key] = value
    }
  }
  return headers
}

function deepFreeze<T>(value: T): T {
  if (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof Map) &&
    !Object.isFrozen(value)
  ) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

/**
 * @module http/response-cache
 * The exact-match response cache of the gateway (issue 11, lever 1; docs/gateway.md "Response
 * cache"). Decides per request whether the cache applies (`hit | miss | bypass`), keys it (the
 * caller's identity, service, model, endpoint and the body — its canonical JSON, or with `key:
 * exact` the sha256 of its bytes — `stream` and `stream_options` included: streamed and buffered
 * answers are separate entries; never shared across tenants or API keys; stores are keyed by the
 * sha256 of all that), and
 * keeps each 200 answer with the energy it was charged, so a hit can state the energy it saved
 * (basis `estimated-counterfactual`); with `min_uses` > 1, only once its request has come that
 * many times (`cache-uses.ts`).
 *
 * A store that fails (Redis down) makes the cache step aside: the request is served upstream
 * (`bypass`), one warning is logged when the store goes down and one info line when it answers again.
 */
import { hash } from 'node:crypto'
import type { CacheEntry, CacheStore, LeverEnergySaving } from '@wattline/core'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { counterIn } from '../metrics/registry-metrics.ts'
import { CachedCounter } from './cached-metrics.ts'
import { UseCounter } from './cache-uses.ts'
import { savingsCounters } from './metrics.ts'
import type { ServiceConfig } from '../config/schema.ts'
import { headerNumber, type Accounting } from './accounting.ts'

export type { CacheEntry } from '@wattline/core'

export type CacheOutcome = 'hit' | 'miss' | 'bypass'

/** The cache's view of one request, decided before it goes upstream. */
export interface CacheDecision {
  readonly outcome: CacheOutcome
  /** Set when the answer may be stored (`miss`; not below `min_uses`). */
  readonly key?: string
  /** Set on `hit`. */
  readonly entry?: CacheEntry
}

export interface ResponseCache {
  /**
   * Looks the request up (or decides it bypasses the cache): synchronous with the memory store,
   * a promise with Redis.
   */
  decide(input: CacheRequest): CacheDecision | Promise<CacheDecision>
  /** Stores a 200 answer under a `miss` decision's key (never rejects). */
  store(service: ServiceConfig, key: string, entry: CacheEntry): void
  /** Counts a hit's saving (metrics). */
  countHit(service: string, entry: CacheEntry): void
  close(): Promise<void>
}

export interface CacheRequest {
  readonly service: ServiceConfig
  /** Tenant name, or null when the gateway has no tenant keys. */
  readonly tenant: string | null
  /** The client's `Authorization` header (the identity when there is no tenant). */
  readonly authorization: string | undefined
  readonly cacheControl: string | undefined
  readonly endpoint: string
  readonly model: string
  readonly body: Record<string, unknown>
  /** The body's bytes as the client sent them (the `exact` key), when the route kept them. */
  readonly raw: Buffer | undefined
}

export interface ResponseCacheDeps {
  readonly store: CacheStore
  readonly registry: Registry
  readonly logger: Logger
}

/** Creates the cache over a store. */
export function createResponseCache(deps: ResponseCacheDeps): ResponseCache {
  const { store, registry, logger } = deps
  const { energy: saved, carbon: carbonSaved } = savingsCounters(registry)
  // Counted on every request of a cache-enabled service: a counter that keys each label object once.
  const lookups = counterIn(
    registry,
    'wattline_cache_requests_total',
    'Proxied requests of cache-enabled services by response-cache outcome (hit|miss|bypass).',
    ['service', 'result'],
    CachedCounter,
  )
  // Label objects per service and outcome, built once (no key string per request).
  const outcomeLabels = new Map<string, Record<CacheOutcome, { service: string; result: string }>>()
  const countOutcome = (service: string, result: CacheOutcome): void => {
    let labels = outcomeLabels.get(service)
    if (labels === undefined) {
      labels = {
        hit: { service, result: 'hit' },
        miss: { service, result: 'miss' },
        bypass: { service, result: 'bypass' },
      }
      outcomeLabels.set(service, labels)
    }
    lookups.inc(labels[result])
  }
  const belowMinUses = counterIn(
    registry,
    'wattline_cache_below_min_uses_total',
    'Misses of cache-enabled services whose answer was not stored: its request had been asked fewer than cache.min_uses times.',
    ['service'],
    CachedCounter,
  )
  /** Per service with `min_uses` > 1 (made on its first miss): uses per key, and its labels. */
  const admission = new Map<string, { uses: UseCounter; labels: { service: string } }>()
  /** A miss under `key`: stored (the key kept) once the request has been asked `min_uses` times. */
  const miss = (service: ServiceConfig, key: string): CacheDecision => {
    const minUses = service.cache.min_uses
    if (minUses <= 1) return { outcome: 'miss', key }
    let a = admission.get(service.name)
    if (a === undefined) {
      a = { uses: new UseCounter(), labels: { service: service.name } }
      admission.set(service.name, a)
    }
    if (a.uses.use(key) >= minUses) return { outcome: 'miss', key }
    belowMinUses.inc(a.labels)
    return MISS_UNSTORED
  }
  let down = false
  const storeFailed = (err: unknown, what: string): void => {
    if (down) return
    down = true
    logger.warn(
      { err, store: store.kind, op: what },
      'response cache store unavailable: bypassing the cache until it answers again',
    )
  }
  const storeOk = (): void => {
    if (!down) return
    down = false
    logger.info({ store: store.kind }, 'response cache store answers again')
  }

  return {
    decide(input) {
      const service = input.service.name
      const d = decideOutcome(input)
      if (!(d instanceof Promise)) {
        countOutcome(service, d.outcome)
        return d
      }
      return d.then((r) => {
        countOutcome(service, r.outcome)
        return r
      })
    },
    store(service, key, entry) {
      const ttlMs = service.cache.ttl_s * 1000
      try {
        const done = store.set(service.name, key, entry, ttlMs)
        if (done instanceof Promise)
          done.then(storeOk, (err: unknown) => {
            storeFailed(err, 'set')
          })
      } catch (err) {
        storeFailed(err, 'set')
      }
    },
    countHit(service, entry) {
      saved.inc({ lever: 'cache', service }, entry.energy_j)
      carbonSaved.inc({ lever: 'cache', service }, entry.carbon_g)
    },
    close: () => store.close(),
  }

  function decideOutcome(input: CacheRequest): CacheDecision | Promise<CacheDecision> {
    const policy = input.service.cache
    if (!policy.enabled) return { outcome: 'bypass' }
    const cc = parseCacheControl(input.cacheControl)
    if (cc.noStore) return { outcome: 'bypass' }
    if (policy.mode === 'deterministic' && !isDeterministic(input.endpoint, input.body))
      return { outcome: 'bypass' }
    const key = cacheKey(input)
    if (cc.noCache) return miss(input.service, key)
    const got = store.get(input.service.name, key)
    if (!(got instanceof Promise))
      return got === undefined ? miss(input.service, key) : { outcome: 'hit', key, entry: got }
    return got.then(
      (entry) => {
        storeOk()
        return entry === undefined ? miss(input.service, key) : { outcome: 'hit', key, entry }
      },
      (err: unknown) => {
        storeFailed(err, 'get')
        return { outcome: 'bypass' } as const
      },
    )
  }
}

/** A miss whose answer is not stored (below `min_uses`). */
const MISS_UNSTORED: CacheDecision = Object.freeze({ outcome: 'miss' })

/** `no-cache`: skip the lookup, still store; `no-store`: neither. Other directives are ignored. */
export function parseCacheControl(header: string | undefined): {
  noCache: boolean
  noStore: boolean
} {
  // Most requests carry no Cache-Control: answer those without allocating.
  if (header === undefined || header === '') return NO_DIRECTIVES
  const d = header
    .toLowerCase()
    .split(',')
    .map((s) => s.trim())
  return { noCache: d.includes('no-cache'), noStore: d.includes('no-store') }
}
const NO_DIRECTIVES = Object.freeze({ noCache: false, noStore: false })

/**
 * Requests a user would expect to be answered the same way twice: `temperature: 0`, or a `seed`;
 * embeddings always (no sampling).
 */
export function isDeterministic(endpoint: string, body: Record<string, unknown>): boolean {
  if (endpoint === '/v1/embeddings') return true
  const seed = body['seed']
  return body['temperature'] === 0 || (typeof seed === 'number' && Number.isFinite(seed))
}

/** SHA-256 (hex) of recently seen Authorization values: a client sends the same one every time. */
const keyDigests = new Map<string, string>()
const KEY_DIGESTS_MAX = 1024

function authorizationDigest(authorization: string): string {
  let d = keyDigests.get(authorization)
  if (d === undefined) {
    d = hash('sha256', authorization, 'hex')
    if (keyDigests.size >= KEY_DIGESTS_MAX) keyDigests.clear()
    keyDigests.set(authorization, d)
  }
  return d
}

/**
 * The key a store is asked by: the SHA-256 (hex) of {@link cacheKeyMaterial} — short and of one
 * length whatever the prompt (the in-process index hashes and compares it), and no prompt text in
 * a shared store.
 */
export function cacheKey(input: CacheRequest): string {
  return hash('sha256', cacheKeyMaterial(input), 'hex')
}

/**
 * What identifies a request's answer: the caller's identity (which keeps tenants' and keys' entries
 * apart), the service, the model, the endpoint and the body — its canonical JSON (`key:
 * normalised`), or the SHA-256 of its bytes as sent (`key: exact`, when the route kept them).
 */
export function cacheKeyMaterial(input: CacheRequest): string {
  const identity =
    input.tenant !== null
      ? `tenant:${input.tenant}`
      : input.authorization !== undefined
        ? `key:${authorizationDigest(input.authorization)}`
        : 'anonymous'
  // NUL separates the parts: none of them holds one (names are validated, JSON escapes it).
  const head = `${identity}\u0000${input.service.name}\u0000${JSON.stringify(input.model)}\u0000${input.endpoint}\u0000`
  return input.service.cache.key === 'exact' && input.raw !== undefined
    ? `${head}bytes:${hash('sha256', input.raw, 'hex')}`
    : head + canonicalJson(input.body)
}

/** JSON with object keys sorted at every depth (the same request spelt in any key order). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return jsonLeaf(value)
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i])
    return `${out}]`
  }
  const o = value as Record<string, unknown>
  const keys = sortedKeys(o)
  let out = '{'
  let first = true
  for (const k of keys) {
    const v = o[k]
    if (v === undefined) continue
    out += `${first ? '' : ','}${quotedKey(k)}:${typeof v === 'object' && v !== null ? canonicalJson(v) : jsonLeaf(v)}`
    first = false
  }
  return `${out}}`
}

/** A leaf as `JSON.stringify` writes it (numbers by `String`, the same digits, without its call). */
function jsonLeaf(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null'
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  return 'null'
}

/** Keys quoted so far: requests repeat the same few (`model`, `messages`, `role`, `content`...). */
const quotedKeys = new Map<string, string>()
const QUOTED_KEYS_MAX = 512

function quotedKey(k: string): string {
  let q = quotedKeys.get(k)
  if (q === undefined) {
    q = JSON.stringify(k)
    if (quotedKeys.size >= QUOTED_KEYS_MAX) quotedKeys.clear()
    quotedKeys.set(k, q)
  }
  return q
}

/** Up to this many keys, {@link sortedKeys} sorts by insertion (quadratic: never for large objects). */
const INSERTION_SORT_MAX = 16

/**
 * An object's keys in `Array.prototype.sort`'s default order (UTF-16 code units). Request objects
 * have a handful of keys, which insertion sorts a third faster than `sort()`; more go to `sort()`.
 */
function sortedKeys(o: object): string[] {
  const keys = Object.keys(o)
  if (keys.length > INSERTION_SORT_MAX) return keys.sort()
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string
    let j = i - 1
    for (; j >= 0 && (keys[j] as string) > k; j--) keys[j + 1] = keys[j] as string
    keys[j + 1] = k
  }
  return keys
}

/** `chunks` of a JSON entry: one shared empty list. */
const NO_CHUNKS: readonly string[] = Object.freeze([])

/**
 * The entry that keeps an answer: a JSON body (`chunks` empty) or SSE chunks (`body` ''), with what
 * producing it cost — the original request's accounting on `backend`.
 */
export function entryOf(
  answer:
    | { readonly kind: 'json'; readonly contentType: string; readonly body: string }
    | { readonly kind: 'sse'; readonly contentType: string; readonly chunks: readonly string[] },
  backend: string,
  a: Accounting,
): CacheEntry {
  return {
    kind: answer.kind,
    content_type: answer.contentType,
    body: answer.kind === 'json' ? answer.body : '',
    chunks: answer.kind === 'json' ? NO_CHUNKS : answer.chunks,
    backend,
    zone: a.intensity.zone,
    energy_j: a.energyJ,
    energy_low_j: a.energyLowJ,
    energy_high_j: a.energyHighJ,
    carbon_g: a.carbonG,
    carbon_low_g: a.carbonLowG,
    carbon_high_g: a.carbonHighG,
    intensity_g_per_kwh: a.intensity.intensity,
    method: a.method,
  }
}

/** What a hit saved: the original request's charge (core's `LeverEnergySaving`, lever `cache`). */
export function cacheSaving(entry: CacheEntry): LeverEnergySaving {
  return {
    lever: 'cache',
    energy_saved_j: entry.energy_j,
    energy_saved_low_j: entry.energy_low_j,
    energy_saved_high_j: entry.energy_high_j,
    carbon_saved_g: entry.carbon_g,
    basis: 'estimated-counterfactual',
  }
}

/** The `x-wattline-*` headers of a hit: nothing spent on this answer, and what it saved. */
export function hitHeaders(entry: CacheEntry): Record<string, string> {
  const saving = cacheSaving(entry)
  return {
    'x-wattline-cache': 'hit',
    'x-wattline-zone': entry.zone,
    'x-wattline-energy-j': '0',
    'x-wattline-carbon-g': '0',
    'x-wattline-intensity-g-per-kwh': headerNumber(entry.intensity_g_per_kwh),
    'x-wattline-method': entry.method,
    'x-wattline-energy-saved-j': headerNumber(saving.energy_saved_j),
    'x-wattline-energy-saved-low-j': headerNumber(saving.energy_saved_low_j),
    'x-wattline-energy-saved-high-j': headerNumber(saving.energy_saved_high_j),
    'x-wattline-carbon-saved-g': headerNumber(saving.carbon_saved_g),
    'x-wattline-saved-basis': saving.basis,
  }
}

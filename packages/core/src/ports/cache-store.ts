/**
 * @module ports/cache-store
 * The response cache's storage: answers under sha256 keys, each with its own lifetime. Adapters
 * (`wattline/src/adapters/cache/`): an in-process LRU bounded by bytes (entries kept as objects, no
 * serialisation), and Redis shared by replicas (entries as JSON).
 */

/** One stored answer: the exact text the client received, and what producing it cost. */
export interface CacheEntry {
  readonly kind: 'json' | 'sse'
  readonly content_type: string
  /** `json`: the body; `sse`: unused (''). */
  readonly body: string
  /** `sse`: the chunks written to the client, in order (the last ends with `data: [DONE]`). */
  readonly chunks: readonly string[]
  readonly backend: string
  readonly zone: string
  /** IT energy the original request was charged, joules, with its interval. */
  readonly energy_j: number
  readonly energy_low_j: number
  readonly energy_high_j: number
  /** Its emissions at the zone's intensity when it ran, gCO2e, with interval. */
  readonly carbon_g: number
  readonly carbon_low_g: number
  readonly carbon_high_g: number
  readonly intensity_g_per_kwh: number
  readonly method: string
}

/** A store of cache entries. A remote store answers with promises that reject when it is down. */
export interface CacheStore {
  /** `memory` or `redis` (logs, docs). */
  readonly kind: 'memory' | 'redis'
  /** The entry under `key` of `service`'s cache, or undefined (absent, expired or unreadable). */
  get(service: string, key: string): CacheEntry | undefined | Promise<CacheEntry | undefined>
  /** Stores `entry` for `ttlMs` milliseconds. */
  set(service: string, key: string, entry: CacheEntry, ttlMs: number): void | Promise<void>
  close(): Promise<void>
}

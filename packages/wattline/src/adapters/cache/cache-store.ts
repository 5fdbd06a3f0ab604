/**
 * @module adapters/cache/cache-store
 * The port of the response cache's storage: opaque serialised entries under sha256 keys, each with
 * its own lifetime. Two adapters: an in-process LRU bounded by bytes, and Redis shared by replicas.
 */

/** A store of serialised cache entries. `get`/`set` reject when the store is unreachable. */
export interface CacheStore {
  /** `memory` or `redis` (logs, docs). */
  readonly kind: 'memory' | 'redis'
  /** The entry under `key` of `service`'s cache, or undefined (absent or expired). */
  get(service: string, key: string): Promise<string | undefined>
  /** Stores `value` for `ttlMs` milliseconds. */
  set(service: string, key: string, value: string, ttlMs: number): Promise<void>
  close(): Promise<void>
}

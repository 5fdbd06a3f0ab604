/**
 * @module adapters/cache/memory-cache-store
 * The in-process response cache store: one LRU per service (`lru-cache`), bounded by the UTF-8
 * bytes of the stored entries (`cache.max_bytes` of the service), each entry with its TTL. An entry
 * larger than the whole budget is not stored.
 */
import { LRUCache } from 'lru-cache'
import type { CacheStore } from './cache-store.ts'

/** Creates the store; `maxBytesOf(service)` gives a service's byte budget. */
export function createMemoryCacheStore(maxBytesOf: (service: string) => number): CacheStore {
  const caches = new Map<string, LRUCache<string, string>>()
  const cacheOf = (service: string): LRUCache<string, string> => {
    let c = caches.get(service)
    if (c === undefined) {
      c = new LRUCache<string, string>({
        maxSize: maxBytesOf(service),
        sizeCalculation: (value, key) => Buffer.byteLength(value) + key.length,
        ttlAutopurge: false,
      })
      caches.set(service, c)
    }
    return c
  }
  return {
    kind: 'memory',
    get: (service, key) => Promise.resolve(cacheOf(service).get(key)),
    set: (service, key, value, ttlMs) => {
      cacheOf(service).set(key, value, { ttl: ttlMs })
      return Promise.resolve()
    },
    close: () => {
      for (const c of caches.values()) c.clear()
      return Promise.resolve()
    },
  }
}

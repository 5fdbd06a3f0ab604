/**
 * @module adapters/cache/memory-cache-store
 * The in-process response cache store: one LRU per service (`lru-cache`), bounded by the UTF-8
 * bytes of the stored answers (`cache.max_bytes` of the service), each entry with its TTL. Entries
 * are kept as objects (nothing serialised); one larger than the whole budget is not stored.
 */
import { LRUCache } from 'lru-cache'
import { entryBytes, type CacheEntry, type CacheStore } from './cache-store.ts'

/** Creates the store; `maxBytesOf(service)` gives a service's byte budget. */
export function createMemoryCacheStore(maxBytesOf: (service: string) => number): CacheStore {
  const caches = new Map<string, LRUCache<string, CacheEntry>>()
  const cacheOf = (service: string): LRUCache<string, CacheEntry> => {
    let c = caches.get(service)
    if (c === undefined) {
      c = new LRUCache<string, CacheEntry>({
        maxSize: maxBytesOf(service),
        sizeCalculation: (entry, key) => entryBytes(entry) + key.length,
      })
      caches.set(service, c)
    }
    return c
  }
  return {
    kind: 'memory',
    get: (service, key) => cacheOf(service).get(key),
    set: (service, key, entry, ttlMs) => {
      cacheOf(service).set(key, entry, { ttl: ttlMs })
    },
    close: () => {
      for (const c of caches.values()) c.clear()
      return Promise.resolve()
    },
  }
}

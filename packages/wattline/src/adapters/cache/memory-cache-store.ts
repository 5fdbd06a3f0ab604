/**
 * @module adapters/cache/memory-cache-store
 * The in-process response cache store: one ring of records per service (`record-ring.ts`), bounded
 * by `cache.max_bytes` of the service, each entry with its TTL. Answers are kept as bytes off the
 * V8 heap (a stored answer costs the garbage collector nothing); the oldest are overwritten first,
 * except that an answer read while among the oldest quarter is moved to the front. One larger than
 * the whole budget is not stored.
 */
import { performance } from 'node:perf_hooks'
import type { CacheStore } from './cache-store.ts'
import { RecordRing } from './record-ring.ts'

/** Creates the store; `maxBytesOf(service)` gives a service's byte budget. */
export function createMemoryCacheStore(maxBytesOf: (service: string) => number): CacheStore {
  const rings = new Map<string, RecordRing>()
  const ringOf = (service: string): RecordRing => {
    let r = rings.get(service)
    if (r === undefined) {
      r = new RecordRing(maxBytesOf(service))
      rings.set(service, r)
    }
    return r
  }
  return {
    kind: 'memory',
    get: (service, key) => rings.get(service)?.get(key, performance.now()),
    set: (service, key, entry, ttlMs) => {
      ringOf(service).set(key, entry, performance.now() + ttlMs)
    },
    close: () => {
      for (const r of rings.values()) r.clear()
      return Promise.resolve()
    },
  }
}

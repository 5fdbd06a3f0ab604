/**
 * Both response cache stores against the `CacheStore` contract: the in-process record ring, and Redis
 * (REDIS_URL; skipped with a notice when unset), each run on a key prefix of its own. Plus the
 * in-process store's own rules: its byte budget overwrites the oldest answer first, one read while
 * among the oldest quarter is kept.
 */
import { randomUUID } from 'node:crypto'
import { cacheEntry, testCacheStore } from '@wattline/core/testing'
import { describe, expect, it } from 'vitest'
import type { CacheEntry } from './cache-store.ts'
import { prepareRecord } from './entry-codec.ts'

/** The bytes `entry`'s record under `key` takes. */
const sizeOf = (key: string, entry: CacheEntry): number =>
  prepareRecord(key, entry)?.size ?? Infinity
import { createMemoryCacheStore } from './memory-cache-store.ts'
import { openRedisCacheStore } from './redis-cache-store.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined)
  console.warn('[cache-store contract] REDIS_URL is not set: the Redis run is SKIPPED')

testCacheStore('memory (record ring)', () =>
  Promise.resolve(createMemoryCacheStore(() => 1_000_000)),
)

if (REDIS_URL !== undefined)
  testCacheStore('redis', () =>
    openRedisCacheStore({
      url: REDIS_URL,
      keyPrefix: `wl-contract-${randomUUID()}`,
      commandTimeoutMs: 2_000,
    }),
  )

describe('memory cache store', () => {
  it('overwrites the oldest answer when the byte budget is spent, keeping one just read', async () => {
    const one = sizeOf('k1', cacheEntry(1))
    const store = createMemoryCacheStore(() => Math.floor(2.5 * one))
    await store.set('chat', 'k1', cacheEntry(1), 60_000)
    await store.set('chat', 'k2', cacheEntry(2), 60_000)
    expect(store.get('chat', 'k1')).toEqual(cacheEntry(1)) // k1 is now the most recent
    await store.set('chat', 'k3', cacheEntry(3), 60_000)
    expect([store.get('chat', 'k1'), store.get('chat', 'k2'), store.get('chat', 'k3')]).toEqual([
      cacheEntry(1),
      undefined,
      cacheEntry(3),
    ])
    await store.close()
  })
})

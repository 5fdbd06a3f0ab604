/**
 * @module ports/cache-store.contract
 * The contract every `CacheStore` passes (in-process LRU; Redis when REDIS_URL is set). `make`
 * returns a fresh, empty store with room for a few entries per service. Holds: a miss is
 * undefined, an entry reads back exactly as stored (both kinds), services do not see each other's
 * keys, a later `set` replaces, each entry expires after its own TTL.
 */
import { describe, expect, it } from 'vitest'
import type { CacheEntry, CacheStore } from './cache-store.ts'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A JSON answer with awkward values (unicode, floats); `n` varies it. */
export function cacheEntry(n: number, kind: CacheEntry['kind'] = 'json'): CacheEntry {
  const json = kind === 'json'
  return {
    kind,
    content_type: json ? 'application/json' : 'text/event-stream',
    body: json ? JSON.stringify({ id: `chatcmpl-${n}`, content: `Grüße ${n} — 你好` }) : '',
    chunks: json ? [] : [`data: {"n":${n}}\n\n`, 'data: {"delta":"é"}\n\n', 'data: [DONE]\n\n'],
    backend: 'paris',
    zone: 'FR',
    energy_j: 0.1 + 0.2 + n,
    energy_low_j: 0.25 + n,
    energy_high_j: 0.35 + n,
    carbon_g: 3.3e-6 * (n + 1),
    carbon_low_g: 2.9e-6,
    carbon_high_g: 4.1e-6 * (n + 1),
    intensity_g_per_kwh: 42.123456789,
    method: 'modelled',
  }
}

/** Registers the port's contract tests for one adapter. */
export function testCacheStore(name: string, make: () => Promise<CacheStore>): void {
  describe(`CacheStore contract: ${name}`, () => {
    async function withStore(test: (store: CacheStore) => Promise<void>): Promise<void> {
      const store = await make()
      try {
        await test(store)
      } finally {
        await store.close()
      }
    }

    it('answers a miss with undefined', () =>
      withStore(async (store) => {
        expect(await store.get('chat', 'a'.repeat(64))).toBeUndefined()
        expect(['memory', 'redis']).toContain(store.kind)
      }))

    it('reads an entry back exactly as stored, JSON and SSE alike', () =>
      withStore(async (store) => {
        await store.set('chat', 'k-json', cacheEntry(1), 60_000)
        await store.set('chat', 'k-sse', cacheEntry(2, 'sse'), 60_000)
        expect(await store.get('chat', 'k-json')).toEqual(cacheEntry(1))
        expect(await store.get('chat', 'k-sse')).toEqual(cacheEntry(2, 'sse'))
      }))

    it("keeps services apart: one service never reads another's key", () =>
      withStore(async (store) => {
        await store.set('chat', 'same', cacheEntry(3), 60_000)
        expect(await store.get('search', 'same')).toBeUndefined()
        await store.set('search', 'same', cacheEntry(4), 60_000)
        expect(await store.get('chat', 'same')).toEqual(cacheEntry(3))
        expect(await store.get('search', 'same')).toEqual(cacheEntry(4))
      }))

    it('replaces an entry set again under the same key', () =>
      withStore(async (store) => {
        await store.set('chat', 'k', cacheEntry(5), 60_000)
        await store.set('chat', 'k', cacheEntry(6, 'sse'), 60_000)
        expect(await store.get('chat', 'k')).toEqual(cacheEntry(6, 'sse'))
      }))

    it('forgets each entry after its own TTL', () =>
      withStore(async (store) => {
        await store.set('chat', 'short', cacheEntry(7), 60)
        await store.set('chat', 'long', cacheEntry(8), 60_000)
        const deadline = Date.now() + 5_000
        while ((await store.get('chat', 'short')) !== undefined && Date.now() < deadline)
          await sleep(25)
        expect(await store.get('chat', 'short')).toBeUndefined()
        expect(await store.get('chat', 'long')).toEqual(cacheEntry(8))
      }))
  })
}

/**
 * The record ring against a model of what it promises, over random sequences of stores and reads
 * with entries of random sizes (Unicode and SSE chunks included), through growth and many
 * wrap-arounds: a read answers the last entry stored under its key exactly or nothing; the
 * last entry stored is always readable; the buffer never exceeds the budget; and while the bytes
 * stored fit in the budget, nothing is lost.
 */
import { cacheEntry } from '@wattline/core/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CacheEntry } from './cache-store.ts'
import { prepareRecord } from './entry-codec.ts'

/** The bytes `entry`'s record under `key` takes. */
const sizeOf = (key: string, entry: CacheEntry): number =>
  prepareRecord(key, entry)?.size ?? Infinity
import { keyHash, RecordRing } from './record-ring.ts'

const entryOf = (n: number, kind: CacheEntry['kind'], pad: number): CacheEntry => {
  const e = cacheEntry(n, kind)
  return kind === 'json'
    ? { ...e, body: e.body + 'é'.repeat(pad) }
    : { ...e, chunks: [...e.chunks, `data: ${'x'.repeat(pad)}\n\n`] }
}

const op = fc.record({
  read: fc.boolean(),
  key: fc.integer({ min: 0, max: 40 }),
  kind: fc.constantFrom<CacheEntry['kind']>('json', 'sse'),
  pad: fc.integer({ min: 0, max: 3000 }),
})

describe('record ring', () => {
  it('answers the last entry stored under a key, or nothing; never more than its budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2_000, max: 60_000 }),
        fc.array(op, { minLength: 1, maxLength: 400 }),
        (budget, ops) => {
          const ring = new RecordRing(budget)
          const last = new Map<string, CacheEntry>()
          let n = 0
          for (const o of ops) {
            const key = `k${String(o.key)}`
            if (o.read) {
              const got = ring.get(key, 0)
              if (got !== undefined) expect(got).toEqual(last.get(key))
              continue
            }
            const entry = entryOf(n++, o.kind, o.pad)
            const size = sizeOf(key, entry)
            ring.set(key, entry, 1)
            if (size > budget) {
              last.delete(key)
              expect(ring.get(key, 0)).toBeUndefined()
              continue
            }
            last.set(key, entry)
            expect(ring.get(key, 0)).toEqual(entry)
            expect(ring.capacity).toBeLessThanOrEqual(budget)
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('loses nothing while the entries stored fit in the budget', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 200 }), (ops) => {
        const ring = new RecordRing(200_000)
        const keys = new Set<string>()
        let stored = 0
        ops.forEach((o, n) => {
          const key = `k${String(o.key)}`
          const entry = entryOf(n, o.kind, o.pad)
          stored += sizeOf(key, entry)
          ring.set(key, entry, 1)
          keys.add(key)
          if (stored <= 200_000) expect(ring.size).toBe(keys.size)
        })
      }),
      { numRuns: 100 },
    )
  })

  it('keeps its index exact through thousands of keys, collisions and evictions', () => {
    // A seeded walk (no Math.random): 30,000 stores and reads over 3,000 keys in a ring that
    // holds a few hundred, so the index grows, probes past collisions and shifts back on removal.
    let seed = 42
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
      return seed % n
    }
    const ring = new RecordRing(100_000)
    const last = new Map<string, CacheEntry>()
    for (let n = 0; n < 30_000; n++) {
      const key = `key-${String(next(3000))}`
      if (next(3) === 0) {
        const got = ring.get(key, 0)
        if (got !== undefined) expect(got).toEqual(last.get(key))
      } else {
        const entry = entryOf(n, n % 2 === 0 ? 'json' : 'sse', next(400))
        ring.set(key, entry, 1)
        last.set(key, entry)
        expect(ring.get(key, 0)).toEqual(entry)
      }
    }
    expect(ring.size).toBeGreaterThan(50)
    expect(ring.size).toBeLessThan(1000)
  })

  it('finds every key it indexed, whatever the key (hashes that share slots included)', () => {
    const keys = Array.from({ length: 5000 }, (_, i) =>
      i % 7 === 0 ? `é-${String(i)}` : String(i),
    )
    const slots = new Set(keys.map((k) => keyHash(k) & 1023))
    expect(slots.size).toBeLessThan(keys.length) // some share a first slot
    const ring = new RecordRing(50_000_000)
    keys.forEach((k, i) => {
      ring.set(k, cacheEntry(i), 1)
    })
    expect(ring.size).toBe(keys.length)
    keys.forEach((k, i) => {
      expect(ring.get(k, 0)).toEqual(cacheEntry(i))
    })
    expect(ring.get('5000', 0)).toBeUndefined()
  })

  it('forgets an entry at its expiry', () => {
    const ring = new RecordRing(10_000)
    ring.set('a', cacheEntry(1), 100)
    expect(ring.get('a', 99.9)).toEqual(cacheEntry(1))
    expect(ring.get('a', 100)).toBeUndefined()
    expect(ring.size).toBe(0)
  })

  it('keeps an answer that keeps being read, and lets the others go first', () => {
    const one = sizeOf('k00', cacheEntry(0))
    const ring = new RecordRing(10 * one)
    ring.set('hot', cacheEntry(0), 1)
    for (let i = 1; i <= 200; i++) {
      ring.set(`k${String(i).padStart(2, '0')}`, cacheEntry(0), 1)
      expect(ring.get('hot', 0)).toEqual(cacheEntry(0))
    }
    // Only the newest (about ten) cold answers are left besides it.
    expect(ring.get('k01', 0)).toBeUndefined()
    expect(ring.get('k200', 0)).toEqual(cacheEntry(0))
    expect(ring.size).toBeLessThanOrEqual(10)
  })

  it('holds no buffer until the first entry, then grows only as needed', () => {
    const ring = new RecordRing(64 * 1024 * 1024)
    expect(ring.capacity).toBe(0)
    ring.set('a', cacheEntry(1), 1)
    expect(ring.capacity).toBe(256 * 1024)
    ring.clear()
    expect(ring.capacity).toBe(0)
    expect(ring.get('a', 0)).toBeUndefined()
  })
})

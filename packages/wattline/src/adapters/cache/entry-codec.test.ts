/**
 * The record codec: every string of an entry goes out as one UTF-8 text and comes back cut at the
 * same places, whatever it holds (non-ASCII in every field, multi-byte characters at the edges of
 * SSE chunks, empty parts), numbers come back bit for bit, and a key is recognised only as itself.
 */
import { cacheEntry } from '@wattline/core/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CacheEntry } from './cache-store.ts'
import {
  prepareRecord,
  readRecord,
  recordBytes,
  recordKeyIs,
  writeRecord,
  type RecordBytes,
} from './entry-codec.ts'

function roundTrip(key: string, entry: CacheEntry): { back: CacheEntry; buf: RecordBytes } {
  const r = prepareRecord(key, entry)
  if (r === undefined) throw new Error('not storable')
  // a view into a larger buffer, at an odd offset: nothing may assume alignment or offset 0
  const buf = recordBytes(Buffer.alloc(r.size + 20).subarray(5, r.size + 12))
  writeRecord(buf, 7, r, 42, 1234.5)
  expect(buf.buf.readUInt32LE(7)).toBe(r.size)
  expect(buf.buf.readInt32LE(11)).toBe(42)
  expect(buf.buf.readDoubleLE(7 + 16)).toBe(1234.5)
  return { back: readRecord(buf, 7), buf }
}

describe('cache entry codec', () => {
  it('brings back every field, cut where it was, with any text in it', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 })
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom<CacheEntry['kind']>('json', 'sse'),
          content_type: text,
          body: text,
          chunks: fc.array(text, { maxLength: 6 }),
          backend: text,
          zone: text,
          method: text,
          energy_j: fc.double(),
          energy_low_j: fc.double(),
          energy_high_j: fc.double(),
          carbon_g: fc.double(),
          carbon_low_g: fc.double(),
          carbon_high_g: fc.double(),
          intensity_g_per_kwh: fc.double(),
        }),
        text,
        (e, key) => {
          const entry: CacheEntry = e.kind === 'json' ? { ...e, chunks: [] } : { ...e, body: '' }
          const { back, buf } = roundTrip(key, entry)
          expect(back).toEqual(entry)
          expect(recordKeyIs(buf, 7, key)).toBe(true)
          expect(recordKeyIs(buf, 7, `${key}x`)).toBe(false)
        },
      ),
      { numRuns: 400 },
    )
  })

  it('tells keys of the same length apart, ASCII or not', () => {
    const { buf } = roundTrip('clé-1', cacheEntry(1))
    expect(recordKeyIs(buf, 7, 'clé-1')).toBe(true)
    expect(recordKeyIs(buf, 7, 'clé-2')).toBe(false)
    expect(recordKeyIs(buf, 7, 'cle-1')).toBe(false)
    expect(recordKeyIs(buf, 7, 'clè-1')).toBe(false)
  })

  it('copies an all-ASCII text as latin1 and encodes any other as UTF-8, reading each back the same way', () => {
    const ascii = roundTrip('k', { ...cacheEntry(1), body: '{"a":"plain"}' })
    expect(ascii.buf.buf[7 + 9]).toBe(1)
    expect(ascii.back.body).toBe('{"a":"plain"}')
    // one non-ASCII character anywhere (here in the zone) and the whole text is UTF-8
    const accented = roundTrip('k', { ...cacheEntry(1), zone: 'Île-de-France', body: 'ÿ' })
    expect(accented.buf.buf[7 + 9]).toBe(0)
    expect(accented.back.zone).toBe('Île-de-France')
    expect(accented.back.body).toBe('ÿ')
  })

  it('refuses a field longer than its u16 length', () => {
    expect(prepareRecord('k', { ...cacheEntry(1), backend: 'b'.repeat(70_000) })).toBeUndefined()
    expect(prepareRecord('k'.repeat(70_000), cacheEntry(1))).toBeUndefined()
  })
})

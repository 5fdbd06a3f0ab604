/**
 * @module adapters/cache/record-ring
 * A byte-bounded store of records in one ring buffer, indexed by key: what the in-process response
 * cache keeps its answers in (`memory-cache-store.ts`). Records are written one after another at
 * the head; when the budget is spent the head wraps to the start and the oldest records are
 * overwritten (first in, first out). A record read while it is among the oldest quarter of the
 * ring is written again at the head, so an answer that keeps being asked for stays (a cheap
 * approximation of least-recently-used, as in CLOCK / FIFO-reinsertion caches).
 *
 * Why bytes and not objects: kept as JS objects (or as keys of a `Map`), every stored answer
 * survives the young generation, is copied into the old one, and makes every major garbage
 * collection longer; profiles of the gateway at 0 % hits showed the `Map` of a full store and the
 * collections it caused as the largest part of the cache's cost. Here the records live in one
 * Buffer and the index is an open-addressing hash table in two typed arrays (the key's hash and
 * its record's offset; linear probing, backward-shift deletion), outside the V8 heap: a stored
 * answer costs the collector nothing. Both are allocated on the first record and doubled as
 * needed (the ring up to the budget), so an idle cache holds no memory.
 */
import type { CacheEntry } from './cache-store.ts'
import {
  prepareRecord,
  readRecord,
  recordBytes,
  recordExpiresAt,
  recordHash,
  recordKeyIs,
  recordLength,
  writeRecord,
  type RecordBytes,
} from './entry-codec.ts'

/** First ring size (bytes), or the whole budget when smaller. */
const INITIAL_BYTES = 256 * 1024
/** First index size (slots, a power of two); it doubles when half full. */
const INITIAL_SLOTS = 1024

/** FNV-1a (32 bits) of the key's UTF-16 units (keys are SHA-256 digests in the gateway). */
export function keyHash(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h | 0
}

export class RecordRing {
  readonly #maxBytes: number
  /** Empty until the first record; then grown by doubling up to the budget. */
  #bytes: RecordBytes = recordBytes(Buffer.alloc(0))
  /** Where the next record goes. */
  #head = 0
  /** The oldest live record (the next one overwritten). */
  #tail = 0
  /** True when the head has wrapped behind the tail: live records are [tail, wrapEnd) and [0, head). */
  #wrapped = false
  /** End of the records above the head while wrapped. */
  #wrapEnd = 0
  /** Index slots: the record's offset + 1 (0 = empty), and its key's hash. */
  #slotAt = new Uint32Array(0)
  #slotHash = new Int32Array(0)
  #mask = -1
  #count = 0

  /** `maxBytes`: the budget (bytes); a record larger than it is never stored. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** Entries indexed now (expired ones not yet overwritten included). */
  get size(): number {
    return this.#count
  }

  /** Bytes of ring held. */
  get capacity(): number {
    return this.#bytes.buf.length
  }

  /** The entry under `key`, or undefined (absent, overwritten or expired at `nowMs`). */
  get(key: string, nowMs: number): CacheEntry | undefined {
    if (this.#count === 0) return undefined
    const slot = this.#find(key, keyHash(key))
    if (slot < 0) return undefined
    const bytes = this.#bytes
    const at = (this.#slotAt[slot] as number) - 1
    if (recordExpiresAt(bytes, at) <= nowMs) {
      this.#removeSlot(slot)
      return undefined
    }
    const entry = readRecord(bytes, at)
    if (this.#isOld(at)) this.#rewrite(slot, at)
    return entry
  }

  /** Stores `entry` under `key` until `expiresAtMs` (replacing any entry under it). */
  set(key: string, entry: CacheEntry, expiresAtMs: number): void {
    const hash = keyHash(key)
    const record = prepareRecord(key, entry)
    if (record === undefined || record.size > this.#maxBytes) {
      const slot = this.#count === 0 ? -1 : this.#find(key, hash)
      if (slot >= 0) this.#removeSlot(slot)
      return
    }
    const at = this.#reserve(record.size)
    writeRecord(this.#bytes, at, record, hash, expiresAtMs)
    this.#index(key, hash, at)
  }

  clear(): void {
    this.#head = 0
    this.#tail = 0
    this.#wrapped = false
    this.#wrapEnd = 0
    this.#bytes = recordBytes(Buffer.alloc(0))
    this.#slotAt = new Uint32Array(0)
    this.#slotHash = new Int32Array(0)
    this.#mask = -1
    this.#count = 0
  }

  /** The slot of `key`, or -1. */
  #find(key: string, hash: number): number {
    const slotAt = this.#slotAt
    const slotHash = this.#slotHash
    const mask = this.#mask
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const o = slotAt[i] as number
      if (o === 0) return -1
      if (slotHash[i] === hash && recordKeyIs(this.#bytes, o - 1, key)) return i
    }
  }

  /** Points `key` at the record at `at` (replacing the slot of an older record of the key). */
  #index(key: string, hash: number, at: number): void {
    const slot = this.#count === 0 ? -1 : this.#find(key, hash)
    if (slot >= 0) this.#slotAt[slot] = at + 1
    else this.#insertNew(hash, at)
  }

  /** Empties slot `i`, shifting back the entries probed past it (no tombstones). */
  #removeSlot(i: number): void {
    const slotAt = this.#slotAt
    const slotHash = this.#slotHash
    const mask = this.#mask
    let hole = i
    for (let j = (i + 1) & mask; slotAt[j] !== 0; j = (j + 1) & mask) {
      const home = (slotHash[j] as number) & mask
      // Entry j may fill the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j
      if (stays) continue
      slotAt[hole] = slotAt[j] as number
      slotHash[hole] = slotHash[j] as number
      hole = j
    }
    slotAt[hole] = 0
    this.#count -= 1
  }

  #growIndex(): void {
    const oldAt = this.#slotAt
    const oldHash = this.#slotHash
    const slots = Math.max(INITIAL_SLOTS, oldAt.length * 2)
    const slotAt = new Uint32Array(slots)
    const slotHash = new Int32Array(slots)
    const mask = slots - 1
    for (let k = 0; k < oldAt.length; k++) {
      const o = oldAt[k] as number
      if (o === 0) continue
      const h = oldHash[k] as number
      let i = h & mask
      while (slotAt[i] !== 0) i = (i + 1) & mask
      slotAt[i] = o
      slotHash[i] = h
    }
    this.#slotAt = slotAt
    this.#slotHash = slotHash
    this.#mask = mask
  }

  /** Is the record at `at` among the oldest quarter of the live bytes? */
  #isOld(at: number): boolean {
    const live = this.#wrapped ? this.#wrapEnd - this.#tail + this.#head : this.#head - this.#tail
    const age = at >= this.#tail ? at - this.#tail : this.#wrapEnd - this.#tail + at
    return age < live / 4
  }

  /** Writes the record at `at` (indexed at `slot`) again at the head. */
  #rewrite(slot: number, at: number): void {
    const size = recordLength(this.#bytes, at)
    const hash = recordHash(this.#bytes, at)
    // A copy first: reserving may overwrite the original.
    const copy = Buffer.from(this.#bytes.buf.subarray(at, at + size))
    this.#removeSlot(slot)
    const to = this.#reserve(size)
    copy.copy(this.#bytes.buf, to)
    this.#insertNew(hash, to)
  }

  /** Indexes a record whose key is known to be absent from the index. */
  #insertNew(hash: number, at: number): void {
    if ((this.#count + 1) * 2 > this.#slotAt.length) this.#growIndex()
    const mask = this.#mask
    let i = hash & mask
    while (this.#slotAt[i] !== 0) i = (i + 1) & mask
    this.#slotAt[i] = at + 1
    this.#slotHash[i] = hash
    this.#count += 1
  }

  /** The offset of `size` free bytes at the head, overwriting the oldest records as needed. */
  #reserve(size: number): number {
    for (;;) {
      if (!this.#wrapped) {
        if (this.#head + size <= this.#bytes.buf.length) break
        if (this.#bytes.buf.length < this.#maxBytes) {
          this.#grow(this.#head + size)
          continue
        }
        if (this.#tail === this.#head) {
          // Empty: start again at 0.
          this.#head = 0
          this.#tail = 0
          continue
        }
        this.#wrapEnd = this.#head
        this.#head = 0
        this.#wrapped = true
        continue
      }
      if (this.#head + size <= this.#tail) break
      if (this.#tail >= this.#wrapEnd) {
        // Every record above the head is gone: live records are [0, head) again.
        this.#tail = 0
        this.#wrapped = false
        continue
      }
      this.#evict(this.#tail)
    }
    const at = this.#head
    this.#head += size
    return at
  }

  /** Drops the oldest record (at `at`, the tail) from the index, if a slot still points to it. */
  #evict(at: number): void {
    const bytes = this.#bytes
    if (this.#count > 0) {
      const mask = this.#mask
      const target = at + 1
      for (let i = recordHash(bytes, at) & mask; this.#slotAt[i] !== 0; i = (i + 1) & mask) {
        if (this.#slotAt[i] === target) {
          this.#removeSlot(i)
          break
        }
      }
    }
    this.#tail = at + recordLength(bytes, at)
  }

  /** A larger ring (doubling from {@link INITIAL_BYTES}, at most the budget); offsets do not move. */
  #grow(atLeast: number): void {
    let next = Math.max(this.#bytes.buf.length * 2, INITIAL_BYTES)
    while (next < atLeast) next *= 2
    const grown = Buffer.allocUnsafeSlow(Math.min(next, this.#maxBytes))
    this.#bytes.buf.copy(grown, 0, 0, this.#head)
    this.#bytes = recordBytes(grown)
  }
}

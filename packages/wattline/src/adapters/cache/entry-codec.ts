/**
 * @module adapters/cache/entry-codec
 * A cache entry as one record of bytes (the in-process store keeps its answers off the V8 heap:
 * docs/gateway.md "Response cache"). Every string of the entry — the key first — is written as
 * one UTF-8 text, cut back into its parts by their lengths in UTF-16 units, so storing an answer
 * costs one `Buffer.byteLength` and one `write` however many parts it has. Little-endian layout:
 *
 *   0   u32  record length (bytes, this header included)
 *   4   i32  the key's hash (the store's index)
 *   8   u8   kind (0 json, 1 sse)
 *   9   u8   1 when the text is all ASCII (written and read as latin1: a plain copy), else 0
 *   10  u16  key length (UTF-16 units)
 *   12  u32  text length (UTF-8 bytes)
 *   16  f64  expires at (ms, the store's clock)
 *   24  f64 × 7  energy_j, energy_low_j, energy_high_j, carbon_g, carbon_low_g, carbon_high_g,
 *                intensity_g_per_kwh
 *   80  u16 × 4  lengths of content_type, backend, zone, method (UTF-16 units)
 *   88  u32  chunk count (sse; 0 for json)
 *   92  u32 × chunk count  each chunk's length (UTF-16 units)
 *   …   the text: key, content_type, backend, zone, method, then the body (json) or the chunks (sse)
 *
 * Numbers round-trip exactly (IEEE doubles), and so does any text that is valid UTF-16 (a lone
 * surrogate comes back as U+FFFD, of the same length).
 */
import type { CacheEntry } from '@wattline/core'

const HASH = 4
const KIND = 8
const ASCII = 9
const KEY_LENGTH = 10
const TEXT_BYTES = 12
const EXPIRES = 16
const NUMBERS = 24
const FIELD_LENGTHS = 80
const CHUNK_COUNT = 88
const CHUNK_LENGTHS = 92
/** Longest key, content type, backend, zone or method (UTF-16 units: u16 lengths). */
const MAX_FIELD_LENGTH = 0xffff

/** An entry ready to be written: its text and the record's size. */
export interface PreparedRecord {
  readonly key: string
  readonly entry: CacheEntry
  readonly text: string
  readonly textBytes: number
  /** All ASCII (as many bytes as UTF-16 units): copied as latin1 instead of encoded as UTF-8. */
  readonly ascii: boolean
  /** Bytes the record takes. */
  readonly size: number
}

/** The text and size of `entry`'s record under `key`; undefined when a field is too long. */
export function prepareRecord(key: string, entry: CacheEntry): PreparedRecord | undefined {
  if (
    key.length > MAX_FIELD_LENGTH ||
    entry.content_type.length > MAX_FIELD_LENGTH ||
    entry.backend.length > MAX_FIELD_LENGTH ||
    entry.zone.length > MAX_FIELD_LENGTH ||
    entry.method.length > MAX_FIELD_LENGTH
  )
    return undefined
  const json = entry.kind === 'json'
  const head = key + entry.content_type + entry.backend + entry.zone + entry.method
  const text = json ? head + entry.body : head + entry.chunks.join('')
  const textBytes = Buffer.byteLength(text)
  const size = CHUNK_LENGTHS + (json ? 0 : 4 * entry.chunks.length) + textBytes
  return { key, entry, text, textBytes, ascii: textBytes === text.length, size }
}

/**
 * A record store's bytes: the Buffer (text, single bytes) and a DataView over the same memory (the
 * numbers: `DataView` accessors are compiled inline, where `Buffer#writeDoubleLE` and its kin are
 * calls with their own checks, ≈ 15× slower for a record's header).
 */
export interface RecordBytes {
  readonly buf: Buffer
  readonly view: DataView
}

/** `buf` with its DataView. */
export function recordBytes(buf: Buffer): RecordBytes {
  return { buf, view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength) }
}

/** Writes a prepared record (`hash`: its key's) at `at`. */
export function writeRecord(
  { buf, view }: RecordBytes,
  at: number,
  r: PreparedRecord,
  hash: number,
  expiresAtMs: number,
): void {
  const e = r.entry
  view.setUint32(at, r.size, true)
  view.setInt32(at + HASH, hash, true)
  buf[at + KIND] = e.kind === 'json' ? 0 : 1
  buf[at + ASCII] = r.ascii ? 1 : 0
  view.setUint16(at + KEY_LENGTH, r.key.length, true)
  view.setUint32(at + TEXT_BYTES, r.textBytes, true)
  view.setFloat64(at + EXPIRES, expiresAtMs, true)
  const n = at + NUMBERS
  view.setFloat64(n, e.energy_j, true)
  view.setFloat64(n + 8, e.energy_low_j, true)
  view.setFloat64(n + 16, e.energy_high_j, true)
  view.setFloat64(n + 24, e.carbon_g, true)
  view.setFloat64(n + 32, e.carbon_low_g, true)
  view.setFloat64(n + 40, e.carbon_high_g, true)
  view.setFloat64(n + 48, e.intensity_g_per_kwh, true)
  view.setUint16(at + FIELD_LENGTHS, e.content_type.length, true)
  view.setUint16(at + FIELD_LENGTHS + 2, e.backend.length, true)
  view.setUint16(at + FIELD_LENGTHS + 4, e.zone.length, true)
  view.setUint16(at + FIELD_LENGTHS + 6, e.method.length, true)
  let p = at + CHUNK_LENGTHS
  if (e.kind === 'json') view.setUint32(at + CHUNK_COUNT, 0, true)
  else {
    view.setUint32(at + CHUNK_COUNT, e.chunks.length, true)
    for (const c of e.chunks) {
      view.setUint32(p, c.length, true)
      p += 4
    }
  }
  // UTF-8 of ASCII is its latin1: a copy, where the UTF-8 encoder checks every character.
  buf.write(r.text, p, r.textBytes, r.ascii ? 'latin1' : 'utf8')
}

/** Where the record's text starts. */
function textStart(view: DataView, at: number): number {
  return at + CHUNK_LENGTHS + 4 * view.getUint32(at + CHUNK_COUNT, true)
}

/** The record's length (bytes). */
export const recordLength = (b: RecordBytes, at: number): number => b.view.getUint32(at, true)

/** The record's expiry (ms). */
export const recordExpiresAt = (b: RecordBytes, at: number): number =>
  b.view.getFloat64(at + EXPIRES, true)

/** The hash of the record's key. */
export const recordHash = (b: RecordBytes, at: number): number => b.view.getInt32(at + HASH, true)

/** Is the record's key `key`? (ASCII keys compared in place, others decoded.) */
export function recordKeyIs({ buf, view }: RecordBytes, at: number, key: string): boolean {
  if (view.getUint16(at + KEY_LENGTH, true) !== key.length) return false
  const start = textStart(view, at)
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c >= 0x80) return buf.toString('utf8', start, start + Buffer.byteLength(key)) === key
    if (c !== buf[start + i]) return false
  }
  return true
}

/** The entry a record holds. */
export function readRecord({ buf, view }: RecordBytes, at: number): CacheEntry {
  const n = (i: number): number => view.getFloat64(at + NUMBERS + 8 * i, true)
  const start = textStart(view, at)
  const encoding = buf[at + ASCII] === 1 ? 'latin1' : 'utf8'
  const text = buf.toString(encoding, start, start + view.getUint32(at + TEXT_BYTES, true))
  let p = view.getUint16(at + KEY_LENGTH, true)
  const part = (length: number): string => text.slice(p, (p += length))
  const content_type = part(view.getUint16(at + FIELD_LENGTHS, true))
  const backend = part(view.getUint16(at + FIELD_LENGTHS + 2, true))
  const zone = part(view.getUint16(at + FIELD_LENGTHS + 4, true))
  const method = part(view.getUint16(at + FIELD_LENGTHS + 6, true))
  const json = buf[at + KIND] === 0
  const count = view.getUint32(at + CHUNK_COUNT, true)
  const chunks = new Array<string>(count)
  for (let i = 0; i < count; i++) chunks[i] = part(view.getUint32(at + CHUNK_LENGTHS + 4 * i, true))
  return {
    kind: json ? 'json' : 'sse',
    content_type,
    body: json ? text.slice(p) : '',
    chunks,
    backend,
    zone,
    energy_j: n(0),
    energy_low_j: n(1),
    energy_high_j: n(2),
    carbon_g: n(3),
    carbon_low_g: n(4),
    carbon_high_g: n(5),
    intensity_g_per_kwh: n(6),
    method,
  }
}

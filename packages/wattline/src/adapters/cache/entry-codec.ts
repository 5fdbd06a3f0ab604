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

/** Writes a prepared record (`hash`: its key's) at `at`. */
export function writeRecord(
  buf: Buffer,
  at: number,
  r: PreparedRecord,
  hash: number,
  expiresAtMs: number,
): void {
  const e = r.entry
  buf.writeUInt32LE(r.size, at)
  buf.writeInt32LE(hash, at + HASH)
  buf[at + KIND] = e.kind === 'json' ? 0 : 1
  buf[at + ASCII] = r.ascii ? 1 : 0
  buf.writeUInt16LE(r.key.length, at + KEY_LENGTH)
  buf.writeUInt32LE(r.textBytes, at + TEXT_BYTES)
  buf.writeDoubleLE(expiresAtMs, at + EXPIRES)
  const n = at + NUMBERS
  buf.writeDoubleLE(e.energy_j, n)
  buf.writeDoubleLE(e.energy_low_j, n + 8)
  buf.writeDoubleLE(e.energy_high_j, n + 16)
  buf.writeDoubleLE(e.carbon_g, n + 24)
  buf.writeDoubleLE(e.carbon_low_g, n + 32)
  buf.writeDoubleLE(e.carbon_high_g, n + 40)
  buf.writeDoubleLE(e.intensity_g_per_kwh, n + 48)
  buf.writeUInt16LE(e.content_type.length, at + FIELD_LENGTHS)
  buf.writeUInt16LE(e.backend.length, at + FIELD_LENGTHS + 2)
  buf.writeUInt16LE(e.zone.length, at + FIELD_LENGTHS + 4)
  buf.writeUInt16LE(e.method.length, at + FIELD_LENGTHS + 6)
  let p = at + CHUNK_LENGTHS
  if (e.kind === 'json') buf.writeUInt32LE(0, at + CHUNK_COUNT)
  else {
    buf.writeUInt32LE(e.chunks.length, at + CHUNK_COUNT)
    for (const c of e.chunks) {
      buf.writeUInt32LE(c.length, p)
      p += 4
    }
  }
  // UTF-8 of ASCII is its latin1: a copy, where the UTF-8 encoder checks every character.
  buf.write(r.text, p, r.textBytes, r.ascii ? 'latin1' : 'utf8')
}

/** Where the record's text starts. */
function textStart(buf: Buffer, at: number): number {
  return at + CHUNK_LENGTHS + 4 * buf.readUInt32LE(at + CHUNK_COUNT)
}

/** The record's length (bytes). */
export const recordLength = (buf: Buffer, at: number): number => buf.readUInt32LE(at)

/** The record's expiry (ms). */
export const recordExpiresAt = (buf: Buffer, at: number): number => buf.readDoubleLE(at + EXPIRES)

/** The hash of the record's key. */
export const recordHash = (buf: Buffer, at: number): number => buf.readInt32LE(at + HASH)

/** Is the record's key `key`? (ASCII keys compared in place, others decoded.) */
export function recordKeyIs(buf: Buffer, at: number, key: string): boolean {
  if (buf.readUInt16LE(at + KEY_LENGTH) !== key.length) return false
  const start = textStart(buf, at)
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c >= 0x80) return buf.toString('utf8', start, start + Buffer.byteLength(key)) === key
    if (c !== buf[start + i]) return false
  }
  return true
}

/** The entry a record holds. */
export function readRecord(buf: Buffer, at: number): CacheEntry {
  const n = (i: number): number => buf.readDoubleLE(at + NUMBERS + 8 * i)
  const start = textStart(buf, at)
  const encoding = buf[at + ASCII] === 1 ? 'latin1' : 'utf8'
  const text = buf.toString(encoding, start, start + buf.readUInt32LE(at + TEXT_BYTES))
  let p = buf.readUInt16LE(at + KEY_LENGTH)
  const part = (length: number): string => text.slice(p, (p += length))
  const content_type = part(buf.readUInt16LE(at + FIELD_LENGTHS))
  const backend = part(buf.readUInt16LE(at + FIELD_LENGTHS + 2))
  const zone = part(buf.readUInt16LE(at + FIELD_LENGTHS + 4))
  const method = part(buf.readUInt16LE(at + FIELD_LENGTHS + 6))
  const json = buf[at + KIND] === 0
  const count = buf.readUInt32LE(at + CHUNK_COUNT)
  const chunks = new Array<string>(count)
  for (let i = 0; i < count; i++) chunks[i] = part(buf.readUInt32LE(at + CHUNK_LENGTHS + 4 * i))
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

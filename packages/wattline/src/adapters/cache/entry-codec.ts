/**
 * @module adapters/cache/entry-codec
 * A cache entry as one record of bytes (the in-process store keeps its answers off the V8 heap:
 * docs/gateway.md "Response cache"). Little-endian layout:
 *
 *   0   u32  record length (bytes, this header included)
 *   4   i32  the key's hash (the store's index)
 *   8   u8   kind (0 json, 1 sse)
 *   9   u8   0 (reserved)
 *   10  u16  key length (UTF-8 bytes)
 *   12  u32  0 (reserved)
 *   16  f64  expires at (ms, the store's clock)
 *   24  f64 × 7  energy_j, energy_low_j, energy_high_j, carbon_g, carbon_low_g, carbon_high_g,
 *                intensity_g_per_kwh
 *   80  the key, then content_type, backend, zone, method, and the body (json) or the chunk count
 *       and each chunk (sse); every string as u32 length + UTF-8 bytes
 *
 * Numbers round-trip exactly (IEEE doubles); strings are UTF-8, so any Unicode text does too.
 */
import type { CacheEntry } from '@wattline/core'

const HEADER = 80
const HASH = 4
const KIND = 8
const KEY_LENGTH = 10
const EXPIRES = 16
const NUMBERS = 24
/** A string's length prefix. */
const LEN = 4
/** Longest key (UTF-8 bytes) a record holds (u16). */
export const MAX_KEY_BYTES = 0xffff

/** The bytes `entry` under `key` takes as a record. */
export function recordBytes(key: string, entry: CacheEntry): number {
  let n =
    HEADER +
    Buffer.byteLength(key) +
    5 * LEN +
    Buffer.byteLength(entry.content_type) +
    Buffer.byteLength(entry.backend) +
    Buffer.byteLength(entry.zone) +
    Buffer.byteLength(entry.method)
  if (entry.kind === 'json') n += Buffer.byteLength(entry.body)
  else for (const c of entry.chunks) n += LEN + Buffer.byteLength(c)
  return n
}

/** Writes the record of `entry` (`size` = {@link recordBytes}; `hash`: the key's) at `at`. */
export function writeRecord(
  buf: Buffer,
  at: number,
  size: number,
  key: string,
  hash: number,
  entry: CacheEntry,
  expiresAtMs: number,
): void {
  buf.writeUInt32LE(size, at)
  buf.writeInt32LE(hash, at + HASH)
  buf[at + KIND] = entry.kind === 'json' ? 0 : 1
  buf[at + KIND + 1] = 0
  buf.writeUInt32LE(0, at + KEY_LENGTH + 2)
  const keyBytes = buf.write(key, at + HEADER)
  buf.writeUInt16LE(keyBytes, at + KEY_LENGTH)
  buf.writeDoubleLE(expiresAtMs, at + EXPIRES)
  const n = at + NUMBERS
  buf.writeDoubleLE(entry.energy_j, n)
  buf.writeDoubleLE(entry.energy_low_j, n + 8)
  buf.writeDoubleLE(entry.energy_high_j, n + 16)
  buf.writeDoubleLE(entry.carbon_g, n + 24)
  buf.writeDoubleLE(entry.carbon_low_g, n + 32)
  buf.writeDoubleLE(entry.carbon_high_g, n + 40)
  buf.writeDoubleLE(entry.intensity_g_per_kwh, n + 48)
  let p = at + HEADER + keyBytes
  p = writeString(buf, p, entry.content_type)
  p = writeString(buf, p, entry.backend)
  p = writeString(buf, p, entry.zone)
  p = writeString(buf, p, entry.method)
  if (entry.kind === 'json') {
    writeString(buf, p, entry.body)
    return
  }
  buf.writeUInt32LE(entry.chunks.length, p)
  p += LEN
  for (const c of entry.chunks) p = writeString(buf, p, c)
}

function writeString(buf: Buffer, at: number, s: string): number {
  const n = buf.write(s, at + LEN)
  buf.writeUInt32LE(n, at)
  return at + LEN + n
}

/** The record's length (bytes). */
export const recordLength = (buf: Buffer, at: number): number => buf.readUInt32LE(at)

/** The record's expiry (ms). */
export const recordExpiresAt = (buf: Buffer, at: number): number => buf.readDoubleLE(at + EXPIRES)

/** The hash of the record's key. */
export const recordHash = (buf: Buffer, at: number): number => buf.readInt32LE(at + HASH)

/** Is the record's key `key`? (ASCII keys compared in place, others decoded.) */
export function recordKeyIs(buf: Buffer, at: number, key: string): boolean {
  const start = at + HEADER
  const bytes = buf.readUInt16LE(at + KEY_LENGTH)
  if (bytes === key.length) {
    for (let i = 0; i < bytes; i++) {
      const c = key.charCodeAt(i)
      if (c >= 0x80) return buf.toString('utf8', start, start + bytes) === key
      if (c !== buf[start + i]) return false
    }
    return true
  }
  // UTF-8 takes at least one byte per UTF-16 unit: fewer bytes cannot be the same text.
  return bytes > key.length && buf.toString('utf8', start, start + bytes) === key
}

/** The entry a record holds. */
export function readRecord(buf: Buffer, at: number): CacheEntry {
  const n = (i: number): number => buf.readDoubleLE(at + NUMBERS + 8 * i)
  let p = at + HEADER + buf.readUInt16LE(at + KEY_LENGTH)
  const str = (): string => {
    const len = buf.readUInt32LE(p)
    const s = buf.toString('utf8', p + LEN, p + LEN + len)
    p += LEN + len
    return s
  }
  const json = buf[at + KIND] === 0
  const content_type = str()
  const backend = str()
  const zone = str()
  const method = str()
  let body = ''
  let chunks: string[] = []
  if (json) body = str()
  else {
    const count = buf.readUInt32LE(p)
    p += LEN
    chunks = new Array<string>(count)
    for (let i = 0; i < count; i++) chunks[i] = str()
  }
  return {
    kind: json ? 'json' : 'sse',
    content_type,
    body,
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

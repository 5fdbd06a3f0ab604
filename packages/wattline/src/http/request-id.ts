/**
 * @module http/request-id
 * Request ids for requests that bring none: random (version 4) UUIDs in the canonical form
 * `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, exactly what `crypto.randomUUID()` gives, from the same
 * source (the CSPRNG, drawn in batches as node's own UUID cache does).
 *
 * Not `randomUUID()` itself: on Node 20 it builds its text from 2-character pieces, ≈ 20 string
 * concatenations, ≈ 550 B of garbage per request; here the 36 characters are written into one
 * buffer and read out as one string (≈ 57 B), ≈ 90 ns against ≈ 140 ns a call in a loop with the
 * garbage collected (docs/benchmarks.md "Per-request allocation (issue 13)").
 */
import { randomFillSync } from 'node:crypto'

/** Ids drawn per batch of random bytes (16 bytes each). */
const BATCH = 128
const random = new Uint8Array(16 * BATCH)
let next = BATCH
const out = Buffer.alloc(36)
const text = new Uint8Array(out.buffer, out.byteOffset, 36)
/** ASCII of a byte's high and low hex digit. */
const HI = new Uint8Array(256)
const LO = new Uint8Array(256)
for (let b = 0; b < 256; b++) {
  HI[b] = '0123456789abcdef'.charCodeAt(b >> 4)
  LO[b] = '0123456789abcdef'.charCodeAt(b & 15)
}
text[8] = text[13] = text[18] = text[23] = 0x2d // '-'

/** Writes byte `b` as two hex digits at `at`. */
function hex(b: number, at: number): void {
  text[at] = HI[b] as number
  text[at + 1] = LO[b] as number
}

/** A new random UUID (version 4, RFC 9562 variant), lower-case. */
export function newRequestId(): string {
  if (next === BATCH) {
    randomFillSync(random)
    next = 0
  }
  const o = 16 * next++
  const r = random
  hex(r[o] as number, 0)
  hex(r[o + 1] as number, 2)
  hex(r[o + 2] as number, 4)
  hex(r[o + 3] as number, 6)
  hex(r[o + 4] as number, 9)
  hex(r[o + 5] as number, 11)
  hex(((r[o + 6] as number) & 0x0f) | 0x40, 14) // version 4
  hex(r[o + 7] as number, 16)
  hex(((r[o + 8] as number) & 0x3f) | 0x80, 19) // variant 10xx
  hex(r[o + 9] as number, 21)
  for (let i = 10; i < 16; i++) hex(r[o + i] as number, 24 + 2 * (i - 10))
  return out.toString('latin1', 0, 36)
}

/**
 * @module http/crypto-random
 * The live gateway's `Random`: uniform draws in [0, 1) from the operating system's CSPRNG, taken
 * from a batch of 32-bit words refilled in one call instead of one `randomBytes(4)` per routing
 * decision (a synchronous crypto call, with its Buffer, on every request).
 */
import { randomFillSync } from 'node:crypto'
import type { Random } from '@wattline/core'

/** Words drawn per refill (4 KiB). */
export const RANDOM_BATCH_WORDS = 1024

/** A crypto-backed `Random`; each draw is one unsigned 32-bit word / 2^32, never reused. */
export function createCryptoRandom(batchWords: number = RANDOM_BATCH_WORDS): Random {
  const words = new Uint32Array(Math.max(1, Math.floor(batchWords)))
  let next = words.length
  return {
    next(): number {
      if (next === words.length) {
        randomFillSync(words)
        next = 0
      }
      return (words[next++] as number) / 4294967296
    },
  }
}

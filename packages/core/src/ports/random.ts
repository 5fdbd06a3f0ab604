/** Randomness as a port: seeded in replays and tests, crypto-backed when live. */
export interface Random {
  /** A number in [0, 1). */
  next(): number
}

/** A small, fast, seedable generator (mulberry32); deterministic across platforms. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0
      let t = a
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    },
  }
}

/**
 * @module http/cache-uses
 * How often each response-cache key has been asked lately, for `services[].cache.min_uses` (as
 * nginx's `proxy_cache_min_uses`): an answer is stored only once its key has been asked that many
 * times. A fixed table of 8-bit counts indexed by the key's first 32 bits (keys are SHA-256 hex
 * digests, so the bits are uniform); every `slots` uses, all counts are halved (TinyLFU's reset),
 * so a key counts within the last `slots` to `2 × slots` requests of its service, and memory stays
 * at one byte per slot whatever the traffic.
 *
 * Two keys that share a slot add up: a key may be stored before its own count reaches `min_uses`
 * (one more answer stored than asked for), never later. So the cache never loses more hits to
 * `min_uses` than `min_uses − 1` per key and window.
 */

/** Slots per service (256 KiB). */
export const USE_SLOTS = 1 << 18

export class UseCounter {
  readonly #counts: Uint8Array
  readonly #mask: number
  #uses = 0

  /** `slots`: a power of two. */
  constructor(slots: number = USE_SLOTS) {
    if (!Number.isInteger(Math.log2(slots))) throw new RangeError('slots must be a power of two')
    this.#counts = new Uint8Array(slots)
    this.#mask = slots - 1
  }

  /** Counts one use of `key` (a hex digest) and returns its uses in the window, this one included. */
  use(key: string): number {
    const i = Number.parseInt(key.slice(0, 8), 16) & this.#mask
    const counts = this.#counts
    const c = counts[i] as number
    if (c < 255) counts[i] = c + 1
    this.#uses += 1
    if (this.#uses >= counts.length) this.#age()
    return c + 1
  }

  /** Halves every count: a key seen once a window ago is forgotten. */
  #age(): void {
    const counts = this.#counts
    for (let i = 0; i < counts.length; i++) counts[i] = (counts[i] as number) >>> 1
    this.#uses = 0
  }
}

/**
 * @module levers/prefix-cache
 * What each backend's model server holds in its prefix cache (vLLM automatic prefix caching, SGLang's
 * radix cache), as the router can know it: the hashes of the prompt blocks it served recently, kept
 * least-recently-used up to the cache's capacity in blocks. A request's reusable prefix on a backend
 * is the run of its leading blocks that backend holds (a block is reusable only if every block
 * before it is: KV entries depend on the whole prefix).
 *
 * Prefix identity: in traces, Mooncake's `hash_ids` (one hash per 512-token block, chained over the
 * prefix); in the gateway, hashes of fixed-size character blocks of the normalised prompt.
 */

/** Tokens per prefix block (Mooncake's `hash_ids` granularity). */
export const PREFIX_BLOCK_TOKENS = 512

export interface PrefixCacheTable {
  /** Leading blocks of `blocks` that backend `b` holds. */
  match(b: number, blocks: ArrayLike<number>): number
  /** Records that backend `b` served a prompt of these blocks (they become most recent). */
  admit(b: number, blocks: ArrayLike<number>): void
  /** Blocks held by backend `b`. */
  size(b: number): number
}

/** One LRU table per backend, each holding at most `capacityBlocks[b]` blocks. */
export function createPrefixCacheTable(capacityBlocks: readonly number[]): PrefixCacheTable {
  // A Map iterates in insertion order: delete + set moves a key to the most-recent end.
  const tables = capacityBlocks.map(() => new Map<number, true>())
  const tableOf = (b: number): Map<number, true> => {
    const t = tables[b]
    if (t === undefined) throw new RangeError(`no backend ${b}`)
    return t
  }
  return {
    match(b, blocks) {
      const t = tableOf(b)
      let n = 0
      while (n < blocks.length && t.has(blocks[n] as number)) n++
      return n
    },
    admit(b, blocks) {
      const t = tableOf(b)
      const cap = capacityBlocks[b] as number
      for (let i = 0; i < blocks.length; i++) {
        const h = blocks[i] as number
        t.delete(h)
        t.set(h, true)
      }
      while (t.size > cap) {
        const oldest = t.keys().next().value as number
        t.delete(oldest)
      }
    },
    size: (b) => tableOf(b).size,
  }
}

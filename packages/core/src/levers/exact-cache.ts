/**
 * @module levers/exact-cache
 * Which requests of a trace an exact-match response cache would answer. A request is a hit when an
 * identical earlier request of the same service (and tenant, where the trace names one) arrived
 * within the cache's time to live: identical means the same prompt (the same full sequence of block
 * hashes and the same prompt length) and the same requested output length. Traces carry no
 * sampling parameters, so a replay states its assumption that the service's requests are cacheable
 * (a `cache:` policy that opts in, or `temperature: 0`); the gateway decides per request.
 *
 * With `minUses` > 1 (the gateway's `cache.min_uses`), an answer is stored only when its request
 * comes the `minUses`th time (every earlier request of the key counts). The replay's store is
 * unbounded, so this shows what `min_uses` costs in hits, never what it wins when a full store
 * would push repeated answers out (bench:cache-admission measures that).
 */

export interface ExactCacheInput {
  readonly arrival: ArrayLike<number>
  readonly inputTokens: ArrayLike<number>
  readonly outputTokens: ArrayLike<number>
  readonly service: ArrayLike<number>
  readonly prefixBlocks: readonly (readonly number[] | undefined)[]
  /** Time to live of an entry, ms (from when it was stored). */
  readonly ttlMs: number
  /** Requests of a key (this one included) before its answer is stored; 1 when omitted. */
  readonly minUses?: number
}

/** Per request: true when the cache would answer it. Requests without blocks never hit. */
export function exactCacheHits(input: ExactCacheInput): Uint8Array {
  const n = input.arrival.length
  const hits = new Uint8Array(n)
  const storedAt = new Map<string, number>()
  const minUses = input.minUses ?? 1
  const uses = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const blocks = input.prefixBlocks[i]
    if (blocks === undefined || blocks.length === 0) continue
    const key = `${input.service[i] as number}|${input.inputTokens[i] as number}|${input.outputTokens[i] as number}|${blocks.join(',')}`
    const t = input.arrival[i] as number
    const at = storedAt.get(key)
    if (at !== undefined && t - at <= input.ttlMs) {
      hits[i] = 1
      continue
    }
    if (minUses > 1) {
      const n = (uses.get(key) ?? 0) + 1
      uses.set(key, n)
      if (n < minUses) continue
    }
    storedAt.set(key, t)
  }
  return hits
}

/**
 * @module engine/min-heap
 * A binary min-heap of (key, tie, value) triples in parallel typed arrays: ordered by key, equal keys
 * by tie, so the order is total and deterministic. Pushing and popping allocate nothing once the
 * arrays have grown. The one heap behind `EventQueue` (key = time, tie = push sequence) and
 * `KeyedHeap` (tie = value = id).
 */
export class MinHeap {
  #key: Float64Array
  #tie: Float64Array
  #value: Int32Array
  #size = 0

  constructor(initialCapacity = 16) {
    const n = Math.max(4, initialCapacity)
    this.#key = new Float64Array(n)
    this.#tie = new Float64Array(n)
    this.#value = new Int32Array(n)
  }

  /** Number of entries. */
  get size(): number {
    return this.#size
  }

  /** Smallest key, or +Infinity when empty. */
  peekKey(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : (this.#key[0] as number)
  }

  /** Value of the smallest entry (undefined behaviour when empty: check `size`). */
  peekValue(): number {
    return this.#value[0] as number
  }

  /** Adds an entry. */
  push(key: number, tie: number, value: number): void {
    if (this.#size === this.#key.length) this.#grow()
    let i = this.#size++
    // Sift up: move parents down until the slot for the new entry is found.
    while (i > 0) {
      const p = (i - 1) >> 1
      const pk = this.#key[p] as number
      if (pk < key || (pk === key && (this.#tie[p] as number) < tie)) break
      this.#key[i] = pk
      this.#tie[i] = this.#tie[p] as number
      this.#value[i] = this.#value[p] as number
      i = p
    }
    this.#key[i] = key
    this.#tie[i] = tie
    this.#value[i] = value
  }

  /** Removes the smallest entry and returns its value (undefined behaviour when empty). */
  pop(): number {
    const top = this.#value[0] as number
    const last = --this.#size
    if (last > 0) {
      const key = this.#key[last] as number
      const tie = this.#tie[last] as number
      const value = this.#value[last] as number
      let i = 0
      // Sift down the former last entry from the root.
      for (;;) {
        const l = 2 * i + 1
        if (l >= last) break
        const r = l + 1
        let c = l
        if (r < last) {
          const lk = this.#key[l] as number
          const rk = this.#key[r] as number
          if (rk < lk || (rk === lk && (this.#tie[r] as number) < (this.#tie[l] as number))) c = r
        }
        const ck = this.#key[c] as number
        if (key < ck || (key === ck && tie < (this.#tie[c] as number))) break
        this.#key[i] = ck
        this.#tie[i] = this.#tie[c] as number
        this.#value[i] = this.#value[c] as number
        i = c
      }
      this.#key[i] = key
      this.#tie[i] = tie
      this.#value[i] = value
    }
    return top
  }

  /** Drops every entry. */
  clear(): void {
    this.#size = 0
  }

  #grow(): void {
    this.#key = doubled(this.#key)
    this.#tie = doubled(this.#tie)
    this.#value = doubled(this.#value)
  }
}

/** A copy of `a` in an array of the same type and twice the length (the rest zero). */
export function doubled<A extends Float64Array | Int32Array>(a: A): A {
  const b = (
    a instanceof Float64Array ? new Float64Array(a.length * 2) : new Int32Array(a.length * 2)
  ) as A
  b.set(a)
  return b
}

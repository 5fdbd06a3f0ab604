/**
 * @module engine/keyed-heap
 * A min-heap of (key, id) pairs in typed arrays; ties on key go to the smaller id. Used per replica for
 * "request `id` finishes its phase when the replica's progress counter reaches `key`".
 */
export class KeyedHeap {
  #key: Float64Array
  #id: Int32Array
  #size = 0

  constructor(initialCapacity = 16) {
    const n = Math.max(4, initialCapacity)
    this.#key = new Float64Array(n)
    this.#id = new Int32Array(n)
  }

  get size(): number {
    return this.#size
  }

  /** Smallest key, or +Infinity when empty. */
  peekKey(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : (this.#key[0] as number)
  }

  /** Id of the smallest key (undefined behaviour when empty: check `size`). */
  peekId(): number {
    return this.#id[0] as number
  }

  push(key: number, id: number): void {
    if (this.#size === this.#key.length) {
      const k = new Float64Array(this.#key.length * 2)
      k.set(this.#key)
      this.#key = k
      const d = new Int32Array(this.#id.length * 2)
      d.set(this.#id)
      this.#id = d
    }
    let i = this.#size++
    while (i > 0) {
      const p = (i - 1) >> 1
      const pk = this.#key[p] as number
      if (pk < key || (pk === key && (this.#id[p] as number) < id)) break
      this.#key[i] = pk
      this.#id[i] = this.#id[p] as number
      i = p
    }
    this.#key[i] = key
    this.#id[i] = id
  }

  /** Removes the smallest entry and returns its id. */
  pop(): number {
    const top = this.#id[0] as number
    const last = --this.#size
    if (last > 0) {
      const key = this.#key[last] as number
      const id = this.#id[last] as number
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= last) break
        const r = l + 1
        let c = l
        if (r < last) {
          const lk = this.#key[l] as number
          const rk = this.#key[r] as number
          if (rk < lk || (rk === lk && (this.#id[r] as number) < (this.#id[l] as number))) c = r
        }
        const ck = this.#key[c] as number
        if (key < ck || (key === ck && id < (this.#id[c] as number))) break
        this.#key[i] = ck
        this.#id[i] = this.#id[c] as number
        i = c
      }
      this.#key[i] = key
      this.#id[i] = id
    }
    return top
  }
}

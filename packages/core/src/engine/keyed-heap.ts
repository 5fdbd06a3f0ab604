/**
 * @module engine/keyed-heap
 * A min-heap of (key, id) pairs in typed arrays; ties on key go to the smaller id. Used per replica for
 * "request `id` finishes its phase when the replica's progress counter reaches `key`".
 */
import { MinHeap } from './min-heap.ts'

export class KeyedHeap {
  readonly #heap: MinHeap

  constructor(initialCapacity = 16) {
    this.#heap = new MinHeap(initialCapacity)
  }

  get size(): number {
    return this.#heap.size
  }

  /** Smallest key, or +Infinity when empty. */
  peekKey(): number {
    return this.#heap.peekKey()
  }

  /** Id of the smallest key (undefined behaviour when empty: check `size`). */
  peekId(): number {
    return this.#heap.peekValue()
  }

  push(key: number, id: number): void {
    this.#heap.push(key, id, id)
  }

  /** Removes the smallest entry and returns its id. */
  pop(): number {
    return this.#heap.pop()
  }
}

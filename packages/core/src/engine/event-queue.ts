/**
 * @module engine/event-queue
 * A min-heap of simulation events (see `MinHeap`) whose payloads sit in parallel typed arrays indexed
 * by a recycled slot, so that pushing and popping allocate nothing once the arrays have grown. Events
 * are ordered by time, then by insertion sequence: two events at the same instant come out in the
 * order they were pushed (deterministic FIFO ties).
 */
import { doubled, MinHeap } from './min-heap.ts'

/** A popped event: read the fields right after `pop()` returns true; the next pop overwrites them. */
export class EventQueue {
  readonly #heap: MinHeap
  #kind: Int32Array
  #target: Int32Array
  #aux: Float64Array
  /** Free payload slots, a stack: `#free[0 … #freeCount)`. */
  #free: Int32Array
  #freeCount = 0
  /** Slots handed out so far (the high-water mark). */
  #used = 0
  #nextSeq = 0
  /** Time of the last popped event (epoch ms or any consistent unit). */
  time = 0
  /** Kind of the last popped event (caller-defined small integer). */
  kind = 0
  /** Target of the last popped event (caller-defined index). */
  target = 0
  /** Auxiliary number of the last popped event (e.g. a version for lazy invalidation). */
  aux = 0

  constructor(initialCapacity = 64) {
    const n = Math.max(4, initialCapacity)
    this.#heap = new MinHeap(n)
    this.#kind = new Int32Array(n)
    this.#target = new Int32Array(n)
    this.#aux = new Float64Array(n)
    this.#free = new Int32Array(n)
  }

  /** Number of queued events. */
  get size(): number {
    return this.#heap.size
  }

  /** Time of the earliest event, or +Infinity when empty. */
  peekTime(): number {
    return this.#heap.peekKey()
  }

  /** Queues an event. Equal times keep push order. */
  push(time: number, kind: number, target: number, aux = 0): void {
    let slot: number
    if (this.#freeCount > 0) slot = this.#free[--this.#freeCount] as number
    else {
      if (this.#used === this.#kind.length) this.#grow()
      slot = this.#used++
    }
    this.#kind[slot] = kind
    this.#target[slot] = target
    this.#aux[slot] = aux
    this.#heap.push(time, this.#nextSeq++, slot)
  }

  /** Removes the earliest event into `time`/`kind`/`target`/`aux`; false when empty. */
  pop(): boolean {
    if (this.#heap.size === 0) return false
    this.time = this.#heap.peekKey()
    const slot = this.#heap.pop()
    this.kind = this.#kind[slot] as number
    this.target = this.#target[slot] as number
    this.aux = this.#aux[slot] as number
    this.#free[this.#freeCount++] = slot
    return true
  }

  /** Drops every event. */
  clear(): void {
    this.#heap.clear()
    this.#freeCount = 0
    this.#used = 0
  }

  #grow(): void {
    this.#kind = doubled(this.#kind)
    this.#target = doubled(this.#target)
    this.#aux = doubled(this.#aux)
    this.#free = doubled(this.#free)
  }
}

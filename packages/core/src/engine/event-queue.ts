/**
 * @module engine/event-queue
 * A binary min-heap of simulation events stored in parallel typed arrays, so that pushing and popping
 * allocate nothing once the arrays have grown. Events are ordered by time, then by insertion sequence:
 * two events at the same instant come out in the order they were pushed (deterministic FIFO ties).
 */

/** A popped event: read the fields right after `pop()` returns true; the next pop overwrites them. */
export class EventQueue {
  #time: Float64Array
  #seq: Float64Array
  #kind: Int32Array
  #target: Int32Array
  #aux: Float64Array
  #size = 0
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
    this.#time = new Float64Array(n)
    this.#seq = new Float64Array(n)
    this.#kind = new Int32Array(n)
    this.#target = new Int32Array(n)
    this.#aux = new Float64Array(n)
  }

  /** Number of queued events. */
  get size(): number {
    return this.#size
  }

  /** Time of the earliest event, or +Infinity when empty. */
  peekTime(): number {
    return this.#size === 0 ? Number.POSITIVE_INFINITY : (this.#time[0] as number)
  }

  /** Queues an event. Equal times keep push order. */
  push(time: number, kind: number, target: number, aux = 0): void {
    if (this.#size === this.#time.length) this.#grow()
    let i = this.#size++
    const seq = this.#nextSeq++
    // Sift up: move parents down until the slot for the new event is found.
    while (i > 0) {
      const p = (i - 1) >> 1
      const pt = this.#time[p] as number
      if (pt < time || (pt === time && (this.#seq[p] as number) < seq)) break
      this.#move(p, i)
      i = p
    }
    this.#time[i] = time
    this.#seq[i] = seq
    this.#kind[i] = kind
    this.#target[i] = target
    this.#aux[i] = aux
  }

  /** Removes the earliest event into `time`/`kind`/`target`/`aux`; false when empty. */
  pop(): boolean {
    if (this.#size === 0) return false
    this.time = this.#time[0] as number
    this.kind = this.#kind[0] as number
    this.target = this.#target[0] as number
    this.aux = this.#aux[0] as number
    const last = --this.#size
    if (last === 0) return true
    const t = this.#time[last] as number
    const s = this.#seq[last] as number
    const k = this.#kind[last] as number
    const g = this.#target[last] as number
    const a = this.#aux[last] as number
    let i = 0
    // Sift down the former last element from the root.
    for (;;) {
      const l = 2 * i + 1
      if (l >= last) break
      const r = l + 1
      let c = l
      if (r < last) {
        const lt = this.#time[l] as number
        const rt = this.#time[r] as number
        if (rt < lt || (rt === lt && (this.#seq[r] as number) < (this.#seq[l] as number))) c = r
      }
      const ct = this.#time[c] as number
      if (t < ct || (t === ct && s < (this.#seq[c] as number))) break
      this.#move(c, i)
      i = c
    }
    this.#time[i] = t
    this.#seq[i] = s
    this.#kind[i] = k
    this.#target[i] = g
    this.#aux[i] = a
    return true
  }

  /** Drops every event. */
  clear(): void {
    this.#size = 0
  }

  #move(from: number, to: number): void {
    this.#time[to] = this.#time[from] as number
    this.#seq[to] = this.#seq[from] as number
    this.#kind[to] = this.#kind[from] as number
    this.#target[to] = this.#target[from] as number
    this.#aux[to] = this.#aux[from] as number
  }

  #grow(): void {
    const n = this.#time.length * 2
    const grow = <A extends Float64Array | Int32Array>(a: A, make: (n: number) => A): A => {
      const b = make(n)
      b.set(a)
      return b
    }
    this.#time = grow(this.#time, (m) => new Float64Array(m))
    this.#seq = grow(this.#seq, (m) => new Float64Array(m))
    this.#kind = grow(this.#kind, (m) => new Int32Array(m))
    this.#target = grow(this.#target, (m) => new Int32Array(m))
    this.#aux = grow(this.#aux, (m) => new Float64Array(m))
  }
}

/**
 * @module engine/virtual-clock
 * A `Clock` whose time moves only when told to: it jumps from timer to timer, so a day of simulated
 * traffic runs in milliseconds. Timers due at the same instant fire in the order they were set.
 */
import type { Clock } from '../ports/clock.ts'
import { instant, type Instant } from '../units/quantity.ts'
import { EventQueue } from './event-queue.ts'

/** The virtual clock: `advanceTo` / `runUntilIdle` fire due timers in time order. */
export class VirtualClock implements Clock {
  #now: number
  readonly #queue = new EventQueue()
  readonly #callbacks = new Map<number, () => void>()
  #nextId = 0

  constructor(start: Instant) {
    this.#now = start
  }

  /** The current virtual instant. */
  now(): Instant {
    return instant(this.#now)
  }

  /** Schedules `fire` at `at` (clamped to now if in the past); returns a cancel function. */
  setTimer(at: Instant, fire: () => void): () => void {
    const id = this.#nextId++
    this.#callbacks.set(id, fire)
    this.#queue.push(Math.max(at, this.#now), 0, id)
    return () => {
      this.#callbacks.delete(id)
    }
  }

  /** Number of timers still pending (cancelled ones excluded). */
  get pending(): number {
    return this.#callbacks.size
  }

  /** Fires every timer due at or before `to`, in order, then sets the time to `to`. */
  advanceTo(to: Instant): void {
    if (to < this.#now) throw new RangeError(`virtual time cannot go back (${to} < ${this.#now})`)
    while (this.#queue.size > 0 && this.#queue.peekTime() <= to) this.#fireNext()
    this.#now = to
  }

  /** Advances by a duration in milliseconds. */
  advanceBy(durationMs: number): void {
    this.advanceTo(instant(this.#now + durationMs))
  }

  /**
   * Fires timers until none are left (timers may set new timers); `maxTimers` bounds runaway loops.
   * Returns the number of timers fired.
   */
  runUntilIdle(maxTimers = 1_000_000): number {
    let fired = 0
    while (this.#queue.size > 0) {
      if (fired >= maxTimers) throw new RangeError(`more than ${maxTimers} timers fired`)
      if (this.#fireNext()) fired++
    }
    return fired
  }

  #fireNext(): boolean {
    this.#queue.pop()
    const fire = this.#callbacks.get(this.#queue.target)
    if (fire === undefined) return false
    this.#callbacks.delete(this.#queue.target)
    this.#now = this.#queue.time
    fire()
    return true
  }
}

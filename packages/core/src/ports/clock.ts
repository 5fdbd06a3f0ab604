import type { Instant, Milliseconds } from '../units/quantity.ts'

/** Time as a port: the live gateway passes a system clock, the simulator a virtual one. */
export interface Clock {
  now(): Instant
  /** Calls `fire` at `at` (or at once if `at` has passed); returns a function that cancels it. */
  setTimer(at: Instant, fire: () => void): () => void
}

/** A monotonic stopwatch for latency, separate from wall-clock time. */
export interface Stopwatch {
  elapsed(): Milliseconds
}

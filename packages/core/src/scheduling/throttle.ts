/**
 * @module scheduling/throttle
 * How many batch lines may be in flight now so that interactive traffic keeps its SLO: batch work
 * takes at most `max_share` of the backends' capacity, never more than `max_concurrent_lines`, and
 * never a slot that interactive requests are using (interactive load is subtracted first).
 */
export interface ThrottleInput {
  /** Concurrent requests the allowed backends accept in total (their `max_concurrency`). */
  readonly capacity: number
  /** Interactive (non-batch) requests in flight on those backends now. */
  readonly interactive_in_flight: number
  /** Share of capacity batch work may take, 0..1. */
  readonly max_share: number
  readonly max_concurrent_lines: number
}

/** Batch lines that may be in flight now (0 = wait for interactive load to fall). */
export function batchLineBudget(input: ThrottleInput): number {
  const share = Math.floor(input.capacity * Math.min(1, Math.max(0, input.max_share)))
  const free = input.capacity - Math.max(0, input.interactive_in_flight)
  return Math.max(0, Math.min(input.max_concurrent_lines, share, free))
}

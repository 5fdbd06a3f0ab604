/**
 * @module routing/latency-first
 * Baseline: the lowest predicted latency among eligible backends, ignoring carbon.
 */
import { minBy } from './carbon-aware.ts'
import type { RoutingDecision, RoutingPolicy } from './policy.ts'
import { assess, rejectReason, scoreOf } from './predict.ts'

/** Builds the latency-first policy. Scores are predicted latency in ms (lower is better). */
export function createLatencyFirst(): RoutingPolicy {
  return function latencyFirst(snapshot, request): RoutingDecision {
    const assessed = assess(snapshot, request)
    const scores = assessed.map((a) => scoreOf(a, a.prediction.latency))
    const open = assessed.filter((a) => a.ineligible === undefined)
    if (open.length === 0) {
      return { kind: 'reject', policy: 'latency-first', reason: rejectReason(assessed), scores }
    }
    const fastest = minBy(open, (a) => a.prediction.latency)
    return {
      kind: 'route',
      backend: fastest.backend.id,
      policy: 'latency-first',
      reason: 'lowest predicted latency',
      scores,
    }
  }
}

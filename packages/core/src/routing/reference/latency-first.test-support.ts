/**
 * @module routing/reference/latency-first
 * FROZEN REFERENCE (test-only): a verbatim copy of `routing/latency-first.ts` as of commit efcb3a5, before the
 * allocation-light rewrite. The differential test `routing/equivalence.test.ts` checks that the live
 * policies decide exactly as this copy does. Do not edit or optimise it.
 * Baseline: the lowest predicted latency among eligible backends, ignoring carbon.
 */
import { minBy } from './carbon-aware.test-support.ts'
import type { RoutingDecision, RoutingPolicy } from '../policy.ts'
import { assess, rejectReason, scoreOf } from './predict.test-support.ts'

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

/**
 * @module routing/reference/least-loaded
 * FROZEN REFERENCE (test-only): a verbatim copy of `routing/least-loaded.ts` as of commit efcb3a5, before the
 * allocation-light rewrite. The differential test `routing/equivalence.test.ts` checks that the live
 * policies decide exactly as this copy does. Do not edit or optimise it.
 * Baseline: the eligible backend with the lowest utilisation (in-flight / concurrency limit); ties go
 * to the lower predicted latency, then to config order.
 */
import { minBy } from './carbon-aware.test-support.ts'
import type { RoutingDecision, RoutingPolicy } from '../policy.ts'
import { assess, rejectReason, scoreOf } from './predict.test-support.ts'

/** Builds the least-loaded policy. Scores are utilisation in [0, 1] (lower is better). */
export function createLeastLoaded(): RoutingPolicy {
  return function leastLoaded(snapshot, request): RoutingDecision {
    const assessed = assess(snapshot, request)
    const load = (a: (typeof assessed)[number]): number =>
      a.backend.inflight / Math.max(1, a.backend.maxConcurrency)
    const scores = assessed.map((a) => scoreOf(a, load(a)))
    const open = assessed.filter((a) => a.ineligible === undefined)
    if (open.length === 0) {
      return { kind: 'reject', policy: 'least-loaded', reason: rejectReason(assessed), scores }
    }
    const lowest = Math.min(...open.map(load))
    const tied = open.filter((a) => load(a) === lowest)
    const chosen = minBy(tied, (a) => a.prediction.latency)
    return {
      kind: 'route',
      backend: chosen.backend.id,
      policy: 'least-loaded',
      reason: 'lowest utilisation',
      scores,
    }
  }
}

/**
 * @module routing/reference/round-robin
 * FROZEN REFERENCE (test-only): a verbatim copy of `routing/round-robin.ts` as of commit efcb3a5, before the
 * allocation-light rewrite. The differential test `routing/equivalence.test.ts` checks that the live
 * policies decide exactly as this copy does. Do not edit or optimise it.
 * Baseline: eligible backends in config order, taking turns by the request's sequence number.
 */
import type { RoutingDecision, RoutingPolicy } from '../policy.ts'
import { assess, rejectReason, scoreOf } from './predict.test-support.ts'

/** Builds the round-robin policy. Scores are each eligible backend's turn offset (0 = chosen). */
export function createRoundRobin(): RoutingPolicy {
  return function roundRobin(snapshot, request): RoutingDecision {
    const assessed = assess(snapshot, request)
    const open = assessed.filter((a) => a.ineligible === undefined)
    if (open.length === 0) {
      const scores = assessed.map((a) => scoreOf(a, Number.NaN))
      return { kind: 'reject', policy: 'round-robin', reason: rejectReason(assessed), scores }
    }
    const n = open.length
    const turn = ((Math.trunc(request.sequence) % n) + n) % n
    const scores = assessed.map((a) => {
      const i = open.indexOf(a)
      return scoreOf(a, i < 0 ? Number.NaN : (i - turn + n) % n)
    })
    const chosen = open[turn] ?? (open[0] as (typeof open)[number])
    return {
      kind: 'route',
      backend: chosen.backend.id,
      policy: 'round-robin',
      reason: `turn ${turn + 1} of ${n}`,
      scores,
    }
  }
}

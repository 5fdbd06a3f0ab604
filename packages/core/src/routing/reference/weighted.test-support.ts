/**
 * @module routing/reference/weighted
 * FROZEN REFERENCE (test-only): a verbatim copy of `routing/weighted.ts` as of commit efcb3a5, before the
 * allocation-light rewrite. The differential test `routing/equivalence.test.ts` checks that the live
 * policies decide exactly as this copy does. Do not edit or optimise it.
 * Baseline: a weighted random choice among eligible backends, using each backend's configured
 * `weight` and the request's uniform `draw` (so a replay with a seeded draw is deterministic).
 */
import type { RoutingDecision, RoutingPolicy } from '../policy.ts'
import { assess, rejectReason, scoreOf } from './predict.test-support.ts'

/** Builds the weighted policy. Scores are selection probabilities among eligible backends. */
export function createWeighted(): RoutingPolicy {
  return function weighted(snapshot, request): RoutingDecision {
    const assessed = assess(snapshot, request)
    const open = assessed.filter((a) => a.ineligible === undefined)
    const weightOf = (w: number): number => (Number.isFinite(w) && w > 0 ? w : 0)
    const total = open.reduce((s, a) => s + weightOf(a.backend.weight), 0)
    const share = (a: (typeof assessed)[number]): number =>
      a.ineligible !== undefined
        ? 0
        : total > 0
          ? weightOf(a.backend.weight) / total
          : 1 / open.length
    const scores = assessed.map((a) => scoreOf(a, share(a)))
    if (open.length === 0) {
      return { kind: 'reject', policy: 'weighted', reason: rejectReason(assessed), scores }
    }
    const draw = Math.min(Math.max(request.draw, 0), 1 - Number.EPSILON)
    let acc = 0
    let chosen = open[open.length - 1] as (typeof open)[number]
    for (const a of open) {
      acc += share(a)
      if (draw < acc) {
        chosen = a
        break
      }
    }
    return {
      kind: 'route',
      backend: chosen.backend.id,
      policy: 'weighted',
      reason: `weighted draw ${draw.toFixed(3)}`,
      scores,
    }
  }
}

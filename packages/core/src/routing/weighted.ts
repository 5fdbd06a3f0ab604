/**
 * @module routing/weighted
 * Baseline: a weighted random choice among eligible backends, using each backend's configured
 * `weight` and the request's uniform `draw` (so a replay with a seeded draw is deterministic).
 */
import type { BackendScore, BackendState, RoutingDecision, RoutingPolicy } from './policy.ts'
import { ELIGIBLE, scanBackends, scanRejectReason, scanScore } from './predict.ts'

const weightOf = (w: number): number => (Number.isFinite(w) && w > 0 ? w : 0)

/** Builds the weighted policy. Scores are selection probabilities among eligible backends. */
export function createWeighted(): RoutingPolicy {
  return function weighted(snapshot, request): RoutingDecision {
    const s = scanBackends(snapshot, request)
    const backends = snapshot.backends
    const { code } = s
    const open = s.open
    let total = 0
    for (let i = 0; i < s.n; i++) {
      if (code[i] === ELIGIBLE) total += weightOf((backends[i] as BackendState).weight)
    }
    const scores = new Array<BackendScore>(s.n)
    const draw = Math.min(Math.max(request.draw, 0), 1 - Number.EPSILON)
    // Cumulative shares in snapshot order; the first eligible backend whose running total passes
    // the draw is chosen (the last eligible one if rounding leaves the total short of it).
    let acc = 0
    let chosen = -1
    let last = -1
    for (let i = 0; i < s.n; i++) {
      const b = backends[i] as BackendState
      const c = code[i] as number
      const share = c !== ELIGIBLE ? 0 : total > 0 ? weightOf(b.weight) / total : 1 / open
      scores[i] = scanScore(s, i, b.id, c, share)
      if (c !== ELIGIBLE) continue
      last = i
      if (chosen < 0) {
        acc += share
        if (draw < acc) chosen = i
      }
    }
    if (open === 0) {
      return { kind: 'reject', policy: 'weighted', reason: scanRejectReason(s), scores }
    }
    return {
      kind: 'route',
      backend: (backends[chosen < 0 ? last : chosen] as BackendState).id,
      policy: 'weighted',
      reason: `weighted draw ${draw.toFixed(3)}`,
      scores,
    }
  }
}

/**
 * @module routing/least-loaded
 * Baseline: the eligible backend with the lowest utilisation (in-flight / concurrency limit); ties go
 * to the lower predicted latency, then to config order.
 */
import type { BackendScore, BackendState, RoutingDecision, RoutingPolicy } from './policy.ts'
import { ELIGIBLE, scanBackends, scanDecision, scanScore } from './predict.ts'

/** Builds the least-loaded policy. Scores are utilisation in [0, 1] (lower is better). */
export function createLeastLoaded(): RoutingPolicy {
  return function leastLoaded(snapshot, request): RoutingDecision {
    const s = scanBackends(snapshot, request)
    const backends = snapshot.backends
    const { code, latency } = s
    const scores = new Array<BackendScore>(s.n)
    // One pass: a lower load restarts the tie group at this backend; an equal load competes on
    // latency (strictly lower wins, so ties keep snapshot order).
    let chosen = -1
    let lowest = Number.POSITIVE_INFINITY
    for (let i = 0; i < s.n; i++) {
      const b = backends[i] as BackendState
      const c = code[i] as number
      const load = b.inflight / Math.max(1, b.maxConcurrency)
      scores[i] = scanScore(s, i, b.id, c, load)
      if (c !== ELIGIBLE) continue
      if (chosen < 0 || load < lowest) {
        chosen = i
        lowest = load
      } else if (load === lowest && (latency[i] as number) < (latency[chosen] as number)) {
        chosen = i
      }
    }
    return scanDecision(s, 'least-loaded', backends[chosen], 'lowest utilisation', scores)
  }
}

/**
 * @module routing/latency-first
 * Baseline: the lowest predicted latency among eligible backends, ignoring carbon.
 */
import type { BackendScore, BackendState, RoutingDecision, RoutingPolicy } from './policy.ts'
import { ELIGIBLE, scanBackends, scanDecision, scanScore } from './predict.ts'

/** Builds the latency-first policy. Scores are predicted latency in ms (lower is better). */
export function createLatencyFirst(): RoutingPolicy {
  return function latencyFirst(snapshot, request): RoutingDecision {
    const s = scanBackends(snapshot, request)
    const backends = snapshot.backends
    const { code, latency } = s
    const scores = new Array<BackendScore>(s.n)
    // First least latency among eligible backends (ties keep snapshot order).
    let fastest = -1
    for (let i = 0; i < s.n; i++) {
      const c = code[i] as number
      const l = latency[i] as number
      scores[i] = scanScore(s, i, (backends[i] as BackendState).id, c, l)
      if (c === ELIGIBLE && (fastest < 0 || l < (latency[fastest] as number))) fastest = i
    }
    return scanDecision(s, 'latency-first', backends[fastest], 'lowest predicted latency', scores)
  }
}

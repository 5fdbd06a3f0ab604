/**
 * @module routing/round-robin
 * Baseline: eligible backends in config order, taking turns by the request's sequence number.
 */
import type { BackendScore, BackendState, RoutingDecision, RoutingPolicy } from './policy.ts'
import { ELIGIBLE, scanBackends, scanRejectReason, scanScore } from './predict.ts'

/** Builds the round-robin policy. Scores are each eligible backend's turn offset (0 = chosen). */
export function createRoundRobin(): RoutingPolicy {
  return function roundRobin(snapshot, request): RoutingDecision {
    const s = scanBackends(snapshot, request)
    const backends = snapshot.backends
    const { code } = s
    const scores = new Array<BackendScore>(s.n)
    const n = s.open
    if (n === 0) {
      for (let i = 0; i < s.n; i++) {
        scores[i] = scanScore(s, i, (backends[i] as BackendState).id, code[i] as number, Number.NaN)
      }
      return { kind: 'reject', policy: 'round-robin', reason: scanRejectReason(s), scores }
    }
    const turn = ((Math.trunc(request.sequence) % n) + n) % n
    // `rank` is a backend's place among the eligible ones; the one whose rank is the turn is chosen
    // (the first eligible one when the turn is not a number).
    let rank = 0
    let chosen = -1
    let first = -1
    for (let i = 0; i < s.n; i++) {
      const c = code[i] as number
      const id = (backends[i] as BackendState).id
      if (c !== ELIGIBLE) {
        scores[i] = scanScore(s, i, id, c, Number.NaN)
        continue
      }
      if (first < 0) first = i
      if (rank === turn) chosen = i
      scores[i] = scanScore(s, i, id, c, (rank - turn + n) % n)
      rank++
    }
    return {
      kind: 'route',
      backend: (backends[chosen < 0 ? first : chosen] as BackendState).id,
      policy: 'round-robin',
      reason: `turn ${turn + 1} of ${n}`,
      scores,
    }
  }
}

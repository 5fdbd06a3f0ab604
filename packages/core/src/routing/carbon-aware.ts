/**
 * @module routing/carbon-aware
 * Least predicted carbon per request among healthy backends that serve the model, have room, and meet
 * the service's latency SLO. As the greenest backend fills it hits its concurrency limit (or its
 * predicted latency crosses the SLO) and requests spill over to the next greenest.
 *
 * Anti-flapping: when the request names the backend the previous decision chose (`sticky`) and that
 * backend is still eligible and within `tolerance` of the best predicted carbon, it is kept, so two
 * near-equal zones do not alternate on every small intensity or occupancy change.
 */
import type { BackendScore, BackendState, RoutingDecision, RoutingPolicy } from './policy.ts'
import {
  ELIGIBLE,
  MODEL,
  SLO,
  INELIGIBILITY,
  scanBackends,
  scanRejectReason,
  scanScore,
} from './predict.ts'

export interface CarbonAwareOptions {
  /** Relative band in which the previous choice is kept (0.05 = within 5 % of the best). */
  readonly tolerance?: number
}

/** Default hysteresis band: 5 % of predicted carbon. */
export const DEFAULT_CARBON_TOLERANCE = 0.05

/**
 * Builds the carbon-aware policy. Scores are predicted gCO2e per request (lower is better).
 *
 * One scan predicts every backend into flat arrays; the choice is made by linear passes (first least
 * key wins, so ties keep snapshot order); the only objects a decision allocates are its score records,
 * its array, the decision itself and, when greener backends were skipped, the reason text.
 */
export function createCarbonAware(options: CarbonAwareOptions = {}): RoutingPolicy {
  const tolerance = options.tolerance ?? DEFAULT_CARBON_TOLERANCE
  const band = 1 + tolerance
  const keptPrefix = `kept previous choice (within ${tolerance * 100}% of greenest `
  return function carbonAware(snapshot, request): RoutingDecision {
    const s = scanBackends(snapshot, request)
    const backends = snapshot.backends
    const n = s.n
    const { carbon, latency, code, meetsSlo } = s
    // Nothing meets the SLO: the SLO is not held against anyone (the fastest is chosen instead).
    const sloCounts = s.feasible > 0
    const scores = new Array<BackendScore>(n)
    let fastest = -1
    let greenest = -1
    let sticky = -1
    const stickyId = request.sticky
    for (let i = 0; i < n; i++) {
      const b = backends[i] as BackendState
      const c = code[i] as number
      const meets = meetsSlo[i] === 1
      scores[i] = scanScore(
        s,
        i,
        b.id,
        c !== ELIGIBLE ? c : meets || !sloCounts ? ELIGIBLE : SLO,
        carbon[i] as number,
      )
      if (c !== ELIGIBLE) continue
      if (fastest < 0 || (latency[i] as number) < (latency[fastest] as number)) fastest = i
      if (!meets) continue
      if (greenest < 0 || (carbon[i] as number) < (carbon[greenest] as number)) greenest = i
      if (sticky < 0 && b.id === stickyId) sticky = i
    }
    if (s.open === 0) {
      return { kind: 'reject', policy: 'carbon-aware', reason: scanRejectReason(s), scores }
    }
    if (greenest < 0) {
      return route(backends, fastest, 'no backend meets the SLO; fastest chosen', scores)
    }
    const best = carbon[greenest] as number
    const greenestId = (backends[greenest] as BackendState).id
    if (sticky >= 0 && sticky !== greenest && (carbon[sticky] as number) <= best * band) {
      return route(backends, sticky, `${keptPrefix}${greenestId})`, scores)
    }
    // Greener backends that serve the model but were passed over, and why.
    let skipped = ''
    for (let i = 0; i < n; i++) {
      const c = code[i] as number
      if ((carbon[i] as number) < best && c !== MODEL) {
        const why = c === ELIGIBLE ? 'slo' : (INELIGIBILITY[c] as string)
        skipped += `${skipped === '' ? '' : ', '}${(backends[i] as BackendState).id} (${why})`
      }
    }
    const reason =
      skipped === '' ? 'greenest feasible' : `greenest feasible; greener ${skipped} skipped`
    return route(backends, greenest, reason, scores)
  }
}

function route(
  backends: readonly BackendState[],
  chosen: number,
  reason: string,
  scores: readonly BackendScore[],
): RoutingDecision {
  const backend = (backends[chosen] as BackendState).id
  return { kind: 'route', backend, policy: 'carbon-aware', reason, scores }
}

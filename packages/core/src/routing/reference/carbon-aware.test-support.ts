/**
 * @module routing/reference/carbon-aware
 * FROZEN REFERENCE (test-only): a verbatim copy of `routing/carbon-aware.ts` as of commit efcb3a5, before the
 * allocation-light rewrite. The differential test `routing/equivalence.test.ts` checks that the live
 * policies decide exactly as this copy does. Do not edit or optimise it.
 * Least predicted carbon per request among healthy backends that serve the model, have room, and meet
 * the service's latency SLO. As the greenest backend fills it hits its concurrency limit (or its
 * predicted latency crosses the SLO) and requests spill over to the next greenest.
 *
 * Anti-flapping: when the request names the backend the previous decision chose (`sticky`) and that
 * backend is still eligible and within `tolerance` of the best predicted carbon, it is kept, so two
 * near-equal zones do not alternate on every small intensity or occupancy change.
 */
import type { RoutingDecision, RoutingPolicy } from '../policy.ts'
import { assess, rejectReason, scoreOf, type Assessed } from './predict.test-support.ts'

export interface CarbonAwareOptions {
  /** Relative band in which the previous choice is kept (0.05 = within 5 % of the best). */
  readonly tolerance?: number
}

/** Default hysteresis band: 5 % of predicted carbon. */
export const DEFAULT_CARBON_TOLERANCE = 0.05

/** Builds the carbon-aware policy. Scores are predicted gCO2e per request (lower is better). */
export function createCarbonAware(options: CarbonAwareOptions = {}): RoutingPolicy {
  const tolerance = options.tolerance ?? DEFAULT_CARBON_TOLERANCE
  return function carbonAware(snapshot, request): RoutingDecision {
    const assessed = assess(snapshot, request)
    const open = assessed.filter((a) => a.ineligible === undefined)
    const feasible = open.filter((a) => a.meetsSlo)
    const scores = assessed.map((a) =>
      scoreOf(
        a,
        a.prediction.carbon,
        a.ineligible ?? (a.meetsSlo || feasible.length === 0 ? undefined : 'slo'),
      ),
    )
    if (open.length === 0) {
      return { kind: 'reject', policy: 'carbon-aware', reason: rejectReason(assessed), scores }
    }
    if (feasible.length === 0) {
      // Nothing meets the SLO: the fastest backend keeps the miss as small as possible.
      const fastest = minBy(open, (a) => a.prediction.latency)
      return route(fastest, 'no backend meets the SLO; fastest chosen', scores)
    }
    const greenest = minBy(feasible, (a) => a.prediction.carbon)
    const sticky = feasible.find((a) => a.backend.id === request.sticky)
    if (
      sticky !== undefined &&
      sticky !== greenest &&
      sticky.prediction.carbon <= greenest.prediction.carbon * (1 + tolerance)
    ) {
      return route(
        sticky,
        `kept previous choice (within ${tolerance * 100}% of greenest ${greenest.backend.id})`,
        scores,
      )
    }
    const skipped = assessed.filter(
      (a) =>
        a.prediction.carbon < greenest.prediction.carbon &&
        a.backend.models.includes(request.model),
    )
    const reason =
      skipped.length === 0
        ? 'greenest feasible'
        : `greenest feasible; greener ${skipped.map((a) => `${a.backend.id} (${a.ineligible ?? 'slo'})`).join(', ')} skipped`
    return route(greenest, reason, scores)
  }
}

function route(
  chosen: Assessed,
  reason: string,
  scores: RoutingDecision['scores'],
): RoutingDecision {
  return { kind: 'route', backend: chosen.backend.id, policy: 'carbon-aware', reason, scores }
}

/** First element with the least key (stable: ties keep snapshot order). */
export function minBy<T>(items: readonly T[], key: (item: T) => number): T {
  let best = items[0] as T
  let bestKey = key(best)
  for (let i = 1; i < items.length; i++) {
    const item = items[i] as T
    const k = key(item)
    if (k < bestKey) {
      best = item
      bestKey = k
    }
  }
  return best
}

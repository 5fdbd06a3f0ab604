/**
 * @module gateway/tier
 * Quality tiers (docs/gateway.md "Quality tiers"): once per request, before routing, core's
 * `chooseTier` picks the model served — the requested one, or a lighter tier of the service's list
 * when its condition holds (the client's `x-wattline-tier: eco`, the intensity of the cleanest
 * backend serving the request now, or the service's budget under pressure). The rest of the chain
 * routes and sends the served model (`ex.model`); the requested one stays in `ex.tier`. A lighter
 * tier none of whose backends admits requests now (breaker open) is not offered.
 *
 * Once the response arrived, a downgrade is counted (`wattline_tier_downgrades_total`); once it is
 * accounted, the `tier` saving (as a `SavingsSource`): the requested model's profile (on the
 * backend that served, when it serves that model too; else on the cleanest one that does) for the
 * same tokens at the observed occupancy, minus the energy charged — answered requests only.
 */
import {
  chooseTier,
  estimateRequest,
  tierSaving,
  type Clock,
  type LeverEnergySaving,
  type Tier,
  type TierChoice,
} from '@wattline/core'
import type { Registry } from 'prom-client'
import { counterIn } from '../metrics/registry-metrics.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import type { ServiceConfig } from '../config/schema.ts'
import { coreTiers } from '../config/tiers.ts'
import type { Accounting } from '../http/accounting.ts'
import { profileOf, type BackendRuntime } from '../http/backend-runtime.ts'
import type { FinishInput } from './exchange-types.ts'
import type { IntensityBoard } from '../http/intensity-board.ts'
import { savingsCounters } from '../http/metrics.ts'
import type { Exchange, Interceptor, Next, SavingsSource } from './pipeline.ts'

/** Counts quality-tier downgrades (docs/metrics.md). */
export const TIER_DOWNGRADES_METRIC = 'wattline_tier_downgrades_total'

export interface TierDeps {
  readonly config: WattlineConfig
  readonly clock: Clock
  /** The fleet's backends. */
  readonly runtimes: readonly BackendRuntime[]
  /** Whether a backend's breaker admits requests at `atMs`. */
  admits(rt: BackendRuntime, atMs: number): boolean
  readonly intensity: IntensityBoard
  readonly registry: Registry
  /** Whether a service's budget is under pressure. Omitted = never. */
  readonly budgetPressure?: (service: string) => boolean
}

/** The tier interceptor; undefined when no service declares tiers (nothing to do per request). */
export function createTier(deps: TierDeps): (Interceptor & SavingsSource) | undefined {
  const { clock, runtimes } = deps
  const tiersOf = new Map<string, readonly Tier[]>()
  for (const s of deps.config.services)
    if (s.tiers !== undefined) tiersOf.set(s.name, coreTiers(s.tiers))
  if (tiersOf.size === 0) return undefined
  const servicesByName = new Map(deps.config.services.map((s) => [s.name, s] as const))
  const saved = savingsCounters(deps.registry)
  const downgrades = counterIn(
    deps.registry,
    TIER_DOWNGRADES_METRIC,
    'Requests served by a lighter quality tier than the model asked for, by service, requested model (from), served model (to) and reason (opt-in|intensity|budget-pressure).',
    ['service', 'from', 'to', 'reason'],
  )

  /** Backends `service` may use that serve `model` (healthy ones only, when any is). */
  function servingBackends(service: ServiceConfig, model: string): BackendRuntime[] {
    const t = clock.now()
    const serving = runtimes.filter(
      (rt) =>
        rt.config.models.includes(model) &&
        (service.backends === undefined || service.backends.includes(rt.config.id)),
    )
    const healthy = serving.filter((rt) => deps.admits(rt, t))
    return healthy.length > 0 ? healthy : serving
  }

  /** The cleanest backend of `servingBackends` (intensity now), or undefined when none serves it. */
  function cleanestServing(service: ServiceConfig, model: string): BackendRuntime | undefined {
    let best: BackendRuntime | undefined
    let bestG = Number.POSITIVE_INFINITY
    for (const rt of servingBackends(service, model)) {
      const g = deps.intensity.current(rt.config.zone).intensity
      if (g < bestG) {
        best = rt
        bestG = g
      }
    }
    return best
  }

  /** The quality-tier decision of a request of a service with tiers. */
  function tierFor(ex: Exchange, tiers: readonly Tier[]): TierChoice | undefined {
    const input = ex.input
    const ref = cleanestServing(input.service, input.model)
    if (ref === undefined) return undefined
    const t = clock.now()
    const open = tiers.filter(
      (tier) =>
        tier.model === input.model ||
        servingBackends(input.service, tier.model).some((rt) => deps.admits(rt, t)),
    )
    return chooseTier(input.model, open, {
      intensityGPerKwh: deps.intensity.current(ref.config.zone).intensity,
      budgetPressure: deps.budgetPressure?.(input.service.name) ?? false,
      ...(input.tier === undefined ? {} : { preference: input.tier }),
    })
  }

  async function downgraded(ex: Exchange, next: Next): Promise<void> {
    await next(ex)
    const tier = ex.tier
    downgrades.inc({
      service: ex.service,
      from: tier.requested,
      to: tier.model,
      reason: tier.reason as string,
    })
  }

  /** The `tier` saving of a downgraded, answered request (undefined: no reference backend). */
  function savingOf(
    ex: Exchange,
    a: Accounting,
    end: FinishInput,
    occupancy: number,
  ): LeverEnergySaving | undefined {
    const requested = ex.tier.requested
    const service = servicesByName.get(ex.service)
    const ref = ex.backend.config.models.includes(requested)
      ? ex.backend
      : service === undefined
        ? undefined
        : cleanestServing(service, requested)
    if (ref === undefined) return undefined
    const profile = profileOf(ref, requested)
    const cf = estimateRequest(profile, {
      inputTokens: Math.max(0, Math.round(end.inputTokens)),
      outputTokens: Math.max(0, Math.round(end.outputTokens)),
      batch: Math.min(profile.maxBatch, Math.max(1, occupancy)),
    })
    return tierSaving({
      counterfactual: { value: cf.value, low: cf.low, high: cf.high },
      actual: { value: a.energyJ, low: a.energyLowJ, high: a.energyHighJ },
      pue: a.pue,
      intensityGPerKwh: a.intensity.intensity,
    })
  }

  return {
    name: 'tier',
    dispatch(ex: Exchange, next: Next): Promise<void> {
      const tiers = tiersOf.get(ex.service)
      if (tiers === undefined) return next(ex)
      const choice = tierFor(ex, tiers)
      if (choice === undefined) return next(ex)
      ex.tier = choice
      ex.model = choice.model
      return choice.reason === undefined ? next(ex) : downgraded(ex, next)
    },
    savings(ex, a, end, occupancy, out): void {
      if (ex.tier.reason === undefined || !end.completed || end.status >= 400) return
      const saving = savingOf(ex, a, end, occupancy)
      if (saving === undefined) return
      saved.energy.inc({ lever: 'tier', service: ex.service }, saving.energy_saved_j)
      saved.carbon.inc({ lever: 'tier', service: ex.service }, saving.carbon_saved_g)
      out.push(saving)
    },
  }
}

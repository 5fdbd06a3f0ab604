/**
 * @module levers/tiers
 * Quality tiers (cascades): a service lists model variants heaviest first (70B → 8B, bf16 → fp8),
 * each lighter one with the conditions under which a request for a heavier one may be served by it:
 * the grid is dirtier than a threshold, the service's energy budget is under pressure, or the client
 * opted in (`x-wattline-tier: eco`). A client may also opt out (`x-wattline-tier: exact`).
 *
 * The decision is a pure function of the request's model, a snapshot of the conditions and the
 * tiers, shared by the gateway and `wattline replay`, so a replay shows the trade the gateway makes.
 * A downgrade is never silent: callers state the served model (`x-wattline-model-served`) and
 * record the requested one with the saving (`tierSaving`).
 */
import { WattlineError } from '../errors.ts'
import { counterfactualSaving, type EnergyInterval, type LeverEnergySaving } from './savings.ts'

/** Why a request went to a lighter tier (the `reason` label of `wattline_tier_downgrades_total`). */
export const TIER_REASONS = ['opt-in', 'intensity', 'budget-pressure'] as const
export type TierReason = (typeof TIER_REASONS)[number]

/** Values of the client's `x-wattline-tier` header. */
export const TIER_PREFERENCES = ['eco', 'exact'] as const
export type TierPreference = (typeof TIER_PREFERENCES)[number]

/** When a lighter tier may serve a request for a heavier one: any condition set suffices. */
export interface TierWhen {
  /** The grid intensity the request would run at is above this, gCO2e/kWh. */
  readonly intensityAboveGPerKwh?: number
  /** The service's energy budget is under pressure (projected to exceed its limit). */
  readonly budgetPressure?: boolean
  /** The client asked for it (`x-wattline-tier: eco`). */
  readonly optIn?: boolean
}

/** One tier of a service: a model (as clients name it) and, below the first, when it may serve. */
export interface Tier {
  readonly model: string
  readonly when?: TierWhen
}

/** The conditions at decision time. */
export interface TierConditions {
  /**
   * Intensity the requested model would run at, gCO2e/kWh: the gateway and replay use the cleanest
   * healthy backend of the service that serves the requested model (a downgrade for intensity
   * happens only when even the greenest choice is above the threshold).
   */
  readonly intensityGPerKwh: number
  /** The service's budget watch projects its budget to be exceeded (`budgetUnderPressure`). */
  readonly budgetPressure: boolean
  /** The client's `x-wattline-tier` header, when sent. */
  readonly preference?: TierPreference
}

/** The tier decision for one request. */
export interface TierChoice {
  /** The model to serve (the requested one when not downgraded). */
  readonly model: string
  readonly requested: string
  /** Set when `model` differs from `requested`. */
  readonly reason?: TierReason
}

/**
 * Picks the model that serves a request for `requested`: the lightest tier below it (furthest down
 * the list) whose conditions hold; the requested model when none does, when it is not in the tiers,
 * or when the client sent `exact`. The reason is the first condition that holds, in
 * `TIER_REASONS` order (the client's own choice first).
 */
export function chooseTier(
  requested: string,
  tiers: readonly Tier[],
  conditions: TierConditions,
): TierChoice {
  const from = tiers.findIndex((t) => t.model === requested)
  if (from < 0 || conditions.preference === 'exact') return { model: requested, requested }
  for (let j = tiers.length - 1; j > from; j--) {
    const tier = tiers[j] as Tier
    const reason = tierReason(tier.when, conditions)
    if (reason !== undefined) return { model: tier.model, requested, reason }
  }
  return { model: requested, requested }
}

/** The first condition of `when` that holds, or undefined. */
export function tierReason(
  when: TierWhen | undefined,
  conditions: TierConditions,
): TierReason | undefined {
  if (when === undefined) return undefined
  if (when.optIn === true && conditions.preference === 'eco') return 'opt-in'
  if (
    when.intensityAboveGPerKwh !== undefined &&
    conditions.intensityGPerKwh > when.intensityAboveGPerKwh
  )
    return 'intensity'
  if (when.budgetPressure === true && conditions.budgetPressure) return 'budget-pressure'
  return undefined
}

/**
 * Reads the `x-wattline-tier` header: undefined when absent; throws `WL_INVALID_INPUT` (param
 * `x-wattline-tier`) naming the accepted values otherwise.
 */
export function parseTierPreference(header: string | undefined): TierPreference | undefined {
  if (header === undefined) return undefined
  const v = header.trim().toLowerCase()
  if ((TIER_PREFERENCES as readonly string[]).includes(v)) return v as TierPreference
  throw new WattlineError(
    'WL_INVALID_INPUT',
    `x-wattline-tier must be one of ${TIER_PREFERENCES.join(', ')}, got '${header.slice(0, 40)}'`,
    { details: { param: 'x-wattline-tier' } },
  )
}

/**
 * Budget pressure from the production watch's verdict of its rolling window: the window holds
 * enough requests to judge and its metric is above the limit — at the window's rate the service's
 * budget is projected to be exceeded (the same test that flags a breach).
 */
export function budgetUnderPressure(verdict: {
  readonly judged: boolean
  readonly ratio: number
}): boolean {
  return verdict.judged && verdict.ratio > 1
}

/**
 * The `tier` saving of a downgraded request: the requested model's estimated IT energy for the same
 * tokens at the observed occupancy (`counterfactual`) minus the energy actually charged, floored at
 * 0, with the interval of the difference (its low end against the actual's high end); carbon = saved
 * facility energy (× PUE) × the intensity the request was charged at. Basis
 * `estimated-counterfactual`.
 */
export function tierSaving(input: {
  readonly counterfactual: EnergyInterval
  readonly actual: EnergyInterval
  readonly pue: number
  readonly intensityGPerKwh: number
}): LeverEnergySaving {
  return counterfactualSaving('tier', input)
}

/** A tier list's problems (each with its index and field); empty when it is valid. */
export function checkTiers(
  tiers: readonly Tier[],
): { readonly index: number; readonly field: string; readonly message: string }[] {
  const issues: { index: number; field: string; message: string }[] = []
  const seen = new Map<string, number>()
  tiers.forEach((t, i) => {
    const first = seen.get(t.model)
    if (first !== undefined)
      issues.push({
        index: i,
        field: 'model',
        message: `model '${t.model}' is already tier ${first}`,
      })
    else seen.set(t.model, i)
    if (i === 0 && t.when !== undefined)
      issues.push({
        index: 0,
        field: 'when',
        message: 'the first (heaviest) tier is what clients ask for: it takes no `when`',
      })
    if (i > 0) {
      const w = t.when
      if (
        w === undefined ||
        (w.intensityAboveGPerKwh === undefined && w.budgetPressure !== true && w.optIn !== true)
      )
        issues.push({
          index: i,
          field: 'when',
          message:
            'a lighter tier needs at least one condition (intensity_above_g_per_kwh, budget_pressure: true or opt_in: true): downgrades are never unconditional',
        })
    }
  })
  if (tiers.length === 1)
    issues.push({ index: 0, field: 'model', message: 'tiers need at least two models' })
  return issues
}

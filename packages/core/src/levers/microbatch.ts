/**
 * @module levers/microbatch
 * Embeddings micro-batching (issue 11, lever 4): the arithmetic of giving one merged upstream call
 * back to the callers it served — each caller's fraction of the call's work (its input tokens), its
 * whole share of a token count, and its `microbatch` saving against having run alone.
 */
import { counterfactualSaving, type EnergyInterval, type LeverEnergySaving } from './savings.ts'

/**
 * Each part's fraction of the whole, proportional to `weights` (input tokens); equal fractions when
 * no weight is positive. The fractions add up to 1 (within float rounding). Negative or non-finite
 * weights count as 0.
 */
export function shareFractions(weights: readonly number[]): number[] {
  const w = weights.map((x) => (Number.isFinite(x) && x > 0 ? x : 0))
  const total = w.reduce((s, x) => s + x, 0)
  if (total <= 0) return w.map(() => 1 / w.length)
  return w.map((x) => x / total)
}

/**
 * `total` (a whole number, e.g. the upstream's `prompt_tokens`) split into whole numbers in
 * proportion to `weights` by the largest-remainder method: they add up to `total` exactly, and
 * each differs from its exact share by less than 1.
 */
export function apportionWhole(total: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return []
  const t = Math.max(0, Math.round(total))
  const exact = shareFractions(weights).map((f) => f * t)
  const out = exact.map(Math.floor)
  let left = t - out.reduce((s, x) => s + x, 0)
  const order = exact
    .map((x, i) => ({ i, rest: x - Math.floor(x) }))
    .sort((a, b) => b.rest - a.rest || a.i - b.i)
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) {
    const at = (order[k] as { i: number }).i
    out[at] = (out[at] as number) + 1
  }
  return out
}

/**
 * The `microbatch` saving of one caller of a merged call: the energy its request would have been
 * charged sent on its own (the estimator's energy for its input tokens, at the occupancy the
 * callers would have made together: the caller decides) minus its share of the
 * merged call, floored at 0; interval from the two intervals (low = alone.low − share.high, high =
 * alone.high − share.low, each floored at 0); carbon = saved IT energy × PUE × intensity. Basis
 * `estimated-counterfactual`: the request that ran alone never happened, so it is never metered.
 */
export function microbatchSaving(input: {
  /** The caller's request alone: the estimator's energy, J (IT). */
  readonly alone: EnergyInterval
  /** The caller's share of the merged call's attributed energy, J (IT). */
  readonly share: EnergyInterval
  readonly pue: number
  readonly intensityGPerKwh: number
}): LeverEnergySaving {
  return counterfactualSaving('microbatch', {
    counterfactual: input.alone,
    actual: input.share,
    pue: input.pue,
    intensityGPerKwh: input.intensityGPerKwh,
  })
}

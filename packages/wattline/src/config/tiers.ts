/**
 * @module config/tiers
 * A service's `tiers:` (snake_case, as in wattline.yaml and fleet files) in core's shape, for the
 * one tier decision the gateway and the replay share (`chooseTier` in @wattline/core).
 */
import type { Tier } from '@wattline/core'
import type { TierConfig } from './schema.ts'

/** The tiers of a config (or fleet file) as core's `Tier[]`. */
export function coreTiers(tiers: readonly TierConfig[]): Tier[] {
  return tiers.map((t) => {
    const w = t.when
    if (w === undefined) return { model: t.model }
    return {
      model: t.model,
      when: {
        ...(w.intensity_above_g_per_kwh === undefined
          ? {}
          : { intensityAboveGPerKwh: w.intensity_above_g_per_kwh }),
        ...(w.budget_pressure === undefined ? {} : { budgetPressure: w.budget_pressure }),
        ...(w.opt_in === undefined ? {} : { optIn: w.opt_in }),
      },
    }
  })
}

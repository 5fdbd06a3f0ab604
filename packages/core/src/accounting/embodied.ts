/**
 * @module accounting/embodied
 * Embodied emissions amortised per SCI (ISO/IEC 21031): `M = TE × (TiR / EL) × (RR / ToR)`, for one
 * reservation and for hardware in service over a reporting period.
 */
import { WattlineError } from '../errors.ts'
import type { HardwareView } from '../ports/report-source.ts'
import { gramsCo2e, ms, MS_PER_HOUR, type GramsCo2e, type Milliseconds } from '../units/quantity.ts'

/** A Julian year, the length SCI amortisation uses for "years" of expected lifespan, ms. */
export const MS_PER_YEAR = 365.25 * 24 * MS_PER_HOUR

/** CCF's server lifespan, 35,040 h (ccf-coefficients ccf_provider_constants.csv), in ms. */
export const CCF_SERVER_LIFESPAN_MS = 35_040 * MS_PER_HOUR

export interface EmbodiedInput {
  /** TE: total embodied emissions of the hardware, gCO2e. */
  readonly totalEmbodied: GramsCo2e
  /** TiR: time the software reserved the hardware. */
  readonly timeReserved: Milliseconds
  /** EL: expected lifespan of the hardware (CCF uses 4 years = 35,040 h). */
  readonly expectedLifespan: Milliseconds
  /** RR: resources reserved (e.g. GPUs used). */
  readonly resourcesReserved: number
  /** ToR: total resources of the hardware (e.g. GPUs in the server). */
  readonly totalResources: number
}

/** M = TE × (TiR / EL) × (RR / ToR), gCO2e. */
export function embodiedShare(input: EmbodiedInput): GramsCo2e {
  const { totalEmbodied, timeReserved, expectedLifespan, resourcesReserved, totalResources } = input
  const bad = (field: string): never => {
    throw new WattlineError('WL_INVALID_INPUT', `embodied: ${field} is out of range`, {
      details: { field },
    })
  }
  if (!(totalEmbodied >= 0)) bad('totalEmbodied')
  if (!(timeReserved >= 0)) bad('timeReserved')
  if (!(expectedLifespan > 0)) bad('expectedLifespan')
  if (!(totalResources > 0)) bad('totalResources')
  if (!(resourcesReserved >= 0 && resourcesReserved <= totalResources)) bad('resourcesReserved')
  return gramsCo2e(
    totalEmbodied * (timeReserved / expectedLifespan) * (resourcesReserved / totalResources),
  )
}

/** Hardware in service, as the ledger's lifecycle inputs hold it. */
export type HardwareInService = Pick<
  HardwareView,
  'count' | 'embodied_g' | 'lifetime_years' | 'in_service_from_ms' | 'allocation_share'
>

/** What amortising one hardware item over a period gives. */
export interface Amortised {
  /** TiR: the part of the period inside the service life, ms. */
  readonly timeInPeriodMs: number
  /** TiR / EL. */
  readonly timeShare: number
  /** M for the scope, gCO2e. */
  readonly amortisedG: number
}

/**
 * SCI's M for `h` over `[fromMs, toMs)`: TE = count × embodied per unit, TiR the part of the period
 * inside the service life, EL the expected lifespan, RR/ToR the allocation share; `scopeShare`
 * (0–1) further limits fleet-wide hardware to a service's share (1 for the whole fleet).
 *
 * @example
 * // 8 units × 150 kg over 2 h of a 4-year life, half reserved: 8 × 150,000 × 2 / 35,064 × 0.5 g
 * amortiseEmbodied({ count: 8, embodied_g: 150_000, lifetime_years: 4, in_service_from_ms: 0, allocation_share: 0.5 }, t, t + 7_200_000, 1)
 */
export function amortiseEmbodied(
  h: HardwareInService,
  fromMs: number,
  toMs: number,
  scopeShare: number,
): Amortised {
  const lifeMs = h.lifetime_years * MS_PER_YEAR
  const endOfLife = h.in_service_from_ms + lifeMs
  const tir = Math.max(0, Math.min(toMs, endOfLife) - Math.max(fromMs, h.in_service_from_ms))
  const m = embodiedShare({
    totalEmbodied: gramsCo2e(h.count * h.embodied_g),
    timeReserved: ms(tir),
    expectedLifespan: ms(lifeMs),
    resourcesReserved: h.allocation_share,
    totalResources: 1,
  })
  return { timeInPeriodMs: tir, timeShare: tir / lifeMs, amortisedG: m * scopeShare }
}

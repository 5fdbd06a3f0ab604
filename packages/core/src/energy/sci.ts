/**
 * @module energy/sci
 * Facility energy (PUE), embodied-emissions amortisation and the Software Carbon Intensity score
 * per the Green Software Foundation's SCI specification (ISO/IEC 21031:2024):
 * `SCI = (E·I + M) per R`, with `M = TE × (TiR / EL) × (RR / ToR)`. Location-based intensity only:
 * market-based instruments never reduce a figure.
 */
import { WattlineError } from '../errors.ts'
import { estimate, type Estimate } from '../units/estimate.ts'
import {
  carbonOf,
  gramsCo2e,
  joules,
  type GramsCo2e,
  type GramsPerKwh,
  type Joules,
  type Milliseconds,
} from '../units/quantity.ts'
import { checkPue } from './request.ts'

/** Facility energy = IT energy × PUE (PUE ≥ 1). */
export function facilityEnergy(it: Joules, pue: number): Joules {
  checkPue(pue)
  return joules(it * pue)
}

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

/** CCF's server lifespan, 35,040 h (ccf-coefficients ccf_provider_constants.csv), in ms. */
export const CCF_SERVER_LIFESPAN_MS = 35_040 * 3_600_000

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

export interface SciInput {
  /** E: energy consumed (facility energy), J. */
  readonly energy: Estimate<Joules>
  /** I: location-based grid intensity, gCO2e/kWh. */
  readonly intensity: Estimate<GramsPerKwh>
  /** M: embodied share, gCO2e. */
  readonly embodied: Estimate<GramsCo2e>
  /** R: functional units (requests, 1,000 tokens, …); > 0. */
  readonly functionalUnits: number
}

/** SCI = (E·I + M) / R, gCO2e per functional unit; bounds combine low with low, high with high. */
export function sci(input: SciInput): Estimate<GramsCo2e> {
  const { energy: e, intensity: i, embodied: m, functionalUnits: r } = input
  if (!(Number.isFinite(r) && r > 0)) {
    throw new WattlineError('WL_INVALID_INPUT', `SCI needs R > 0, got ${r}`, {
      details: { field: 'functionalUnits' },
    })
  }
  const at = (ev: Joules, iv: GramsPerKwh, mv: GramsCo2e): GramsCo2e =>
    gramsCo2e((carbonOf(ev, iv) + mv) / r)
  const method = e.method === 'measured' && i.method === 'measured' && m.method === 'measured'
  return estimate(
    at(e.value, i.value, m.value),
    method ? 'measured' : 'modelled',
    `SCI = (E·I + M)/R; E: ${e.source}; I: ${i.source}; M: ${m.source}`,
    at(e.low, i.low, m.low),
    at(e.high, i.high, m.high),
  )
}

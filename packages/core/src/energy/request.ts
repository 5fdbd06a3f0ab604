/**
 * @module energy/request
 * Energy of one request from a profile: output tokens at the running batch's per-token energy plus
 * prompt tokens at the prefill energy, times the site's PUE. IT energy × PUE = facility energy.
 */
import { WattlineError } from '../errors.ts'
import { estimate, type Estimate } from '../units/estimate.ts'
import { joules, type Joules } from '../units/quantity.ts'
import type { EnergyProfile } from './profile.ts'

export interface RequestShape {
  readonly inputTokens: number
  readonly outputTokens: number
  /** Running batch the request shares, sequences (≥ 1). */
  readonly batch: number
  /** Power usage effectiveness of the site (≥ 1); 1 (IT energy only) when absent. */
  readonly pue?: number
}

/** Energy of one request, J (facility energy when `pue` is given), with interval. */
export function estimateRequest(profile: EnergyProfile, shape: RequestShape): Estimate<Joules> {
  nonNegativeInteger('inputTokens', shape.inputTokens)
  nonNegativeInteger('outputTokens', shape.outputTokens)
  if (!(Number.isFinite(shape.batch) && shape.batch >= 1)) {
    throw new WattlineError('WL_INVALID_INPUT', `batch must be ≥ 1, got ${shape.batch}`, {
      details: { field: 'batch' },
    })
  }
  const pue = shape.pue ?? 1
  checkPue(pue)
  const out = profile.energyPerOutputToken(shape.batch)
  const inp = profile.energyPerInputToken(shape.batch)
  const part = (o: number, i: number): Joules =>
    joules((shape.outputTokens * o + shape.inputTokens * i) * pue)
  const pueNote = pue === 1 ? '' : `; × PUE ${pue}`
  const source =
    shape.inputTokens > 0
      ? `${out.source}; prompt: ${inp.source}${pueNote}`
      : `${out.source}${pueNote}`
  return estimate(
    part(out.value, inp.value),
    'modelled',
    source,
    part(out.low, inp.low),
    part(out.high, inp.high),
  )
}

/** Throws `WL_INVALID_INPUT` unless `pue` is a finite number ≥ 1. */
export function checkPue(pue: number): void {
  if (!(Number.isFinite(pue) && pue >= 1)) {
    throw new WattlineError('WL_INVALID_INPUT', `PUE must be a number ≥ 1, got ${pue}`, {
      details: { field: 'pue' },
    })
  }
}

function nonNegativeInteger(field: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 0)) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${field} must be a non-negative integer, got ${v}`,
      {
        details: { field },
      },
    )
  }
}

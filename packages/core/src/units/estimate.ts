/**
 * @module units/estimate
 * Every figure Wattline reports is an estimate: a central value, an interval, the method that produced
 * it and its source. Interval arithmetic here assumes the bounds move together (worst case), which is
 * what a conservative report needs.
 */

export const METHODS = ['measured', 'modelled'] as const
export type Method = (typeof METHODS)[number]

export interface Estimate<Q extends number> {
  readonly value: Q
  readonly low: Q
  readonly high: Q
  readonly method: Method
  readonly source: string
}

/** Builds an estimate; `low`/`high` default to the value (an exact figure). */
export function estimate<Q extends number>(
  value: Q,
  method: Method,
  source: string,
  low: Q = value,
  high: Q = value,
): Estimate<Q> {
  return Object.freeze({
    value,
    low: Math.min(low, value) as Q,
    high: Math.max(high, value) as Q,
    method,
    source,
  })
}

/** Multiplies an estimate by a non-negative factor (PUE, a share, an intensity ratio). */
export function scaleEstimate<Q extends number, R extends number = Q>(
  e: Estimate<Q>,
  factor: number,
  lowFactor: number = factor,
  highFactor: number = factor,
): Estimate<R> {
  return estimate(
    (e.value * factor) as R,
    e.method,
    e.source,
    (e.low * lowFactor) as R,
    (e.high * highFactor) as R,
  )
}

/** Adds estimates; the result is `measured` only if every part is. */
export function sumEstimates<Q extends number>(
  parts: readonly Estimate<Q>[],
  source: string,
): Estimate<Q> {
  let value = 0
  let low = 0
  let high = 0
  let method: Method = 'measured'
  for (const p of parts) {
    value += p.value
    low += p.low
    high += p.high
    if (p.method === 'modelled') method = 'modelled'
  }
  return estimate(value as Q, parts.length === 0 ? 'modelled' : method, source, low as Q, high as Q)
}

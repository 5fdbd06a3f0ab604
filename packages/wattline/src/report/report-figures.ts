/**
 * @module report/report-figures
 * How the report writes numbers: 12 significant digits (no floating-point noise), percentages,
 * ISO instants, a figure (value, low, high, method) from core's `IntervalSum`, and the region of a
 * zone. Shared by the report's assembly and its sections.
 */
import type { IntervalSum, Method } from '@wattline/core'
import type { Figure, FigureMethod } from './report-schema.ts'

/** Rounds away floating-point noise (12 significant digits) so reports are stable and comparable. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x === 0 ? 0 : x
  return Number(x.toPrecision(12))
}

/** `part` as a percentage of `whole`, rounded; 0 when `whole` is 0. */
export function pct(part: number, whole: number): number {
  return whole > 0 ? round((part / whole) * 100) : 0
}

/** The method of a set of parts: one kind, or `mixed`. */
export function methodOf(methods: ReadonlySet<Method>): FigureMethod {
  if (methods.has('measured') && methods.has('modelled')) return 'mixed'
  return methods.has('measured') ? 'measured' : 'modelled'
}

/** A sum as a report figure, scaled by `k` (e.g. 1 / J per Wh), rounded. */
export function figureOf(sum: IntervalSum, k: number): Figure {
  return {
    value: round(sum.value * k),
    low: round(sum.low * k),
    high: round(sum.high * k),
    method: sum.sumMethod(),
  }
}

/** The region a zone belongs to: the ISO 3166 country prefix of its Electricity Maps id. */
export function regionOfZone(zone: string): string {
  const dash = zone.indexOf('-')
  return dash > 0 ? zone.slice(0, dash) : zone
}

/** An epoch-ms instant as ISO-8601 UTC (the number as text when it is not finite). */
export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)
}

/**
 * @module carbon/intensity
 * The vocabulary of grid carbon intensity. Every value carries its signal, source and provenance flags.
 */
import type { GramsPerKwh, Instant } from '../units/quantity.ts'

export const SIGNALS = ['average', 'marginal'] as const
export type Signal = (typeof SIGNALS)[number]

/** Where a value came from in a fallback chain: the live provider, its forecast, the last known value, or the static table. */
export const PROVENANCES = ['live', 'forecast', 'last-known', 'static'] as const
export type Provenance = (typeof PROVENANCES)[number]

export interface IntensityPoint {
  readonly zone: string
  /** Start of the interval the value covers. */
  readonly at: Instant
  readonly intensity: GramsPerKwh
  readonly signal: Signal
  /** Human-readable source, e.g. `electricitymaps-csv:DE_2023_hourly.csv` or `static:wattline-builtin-2023`. */
  readonly source: string
  readonly forecast: boolean
  /** True when the value is older than the source's freshness window or came from a fallback. */
  readonly stale: boolean
  readonly provenance?: Provenance
}

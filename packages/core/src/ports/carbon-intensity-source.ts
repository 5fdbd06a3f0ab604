import type { IntensityPoint, Signal } from '../carbon/intensity.ts'
import type { Instant } from '../units/quantity.ts'

/**
 * A source of grid carbon intensity (a CSV file, a provider API, the built-in table, a cache in front
 * of any of them). Implementations translate provider failures into `WL_CARBON_SOURCE_UNAVAILABLE`
 * and unknown zones into `WL_UNKNOWN_ZONE`.
 */
export interface CarbonIntensitySource {
  readonly name: string
  readonly signal: Signal
  /** The value in force at `at` for `zone`. */
  intensityAt(zone: string, at: Instant, signal?: AbortSignal): Promise<IntensityPoint>
  /** Points covering [from, to), ordered by time (actuals, then forecasts where the source has them). */
  series(
    zone: string,
    from: Instant,
    to: Instant,
    signal?: AbortSignal,
  ): Promise<readonly IntensityPoint[]>
  /** Zones this source can answer for; `undefined` when it cannot list them (an API). */
  zones?(): readonly string[]
}

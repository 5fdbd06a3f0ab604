/**
 * @module http/intensity-board
 * The grid intensity of each configured zone "now", refreshed in the background so that routing
 * decisions never wait on a provider. A failed refresh keeps the last known value, marked stale.
 */
import {
  gramsPerKwh,
  type CarbonIntensitySource,
  type Clock,
  type IntensityPoint,
  type Signal,
} from '@wattline/core'

export interface IntensityBoard {
  /** The latest value for `zone` (stale-marked when it is a fallback). */
  current(zone: string): IntensityPoint
  /** Fetches every zone once; never rejects. */
  refresh(): Promise<void>
  readonly zones: readonly string[]
}

export interface IntensityBoardOptions {
  readonly source: CarbonIntensitySource
  readonly clock: Clock
  readonly zones: readonly string[]
  readonly signal: Signal
  /** Called after each value is set (metrics, ledger). */
  readonly onValue?: (point: IntensityPoint) => void
  /** Called when a zone cannot be refreshed. */
  readonly onError?: (zone: string, error: unknown) => void
}

/** Creates a board; call `refresh()` once before serving. */
export function createIntensityBoard(options: IntensityBoardOptions): IntensityBoard {
  const latest = new Map<string, IntensityPoint>()
  const zones = [...new Set(options.zones)]
  return {
    zones,
    current(zone) {
      return (
        latest.get(zone) ?? {
          zone,
          at: options.clock.now(),
          intensity: gramsPerKwh(0),
          signal: options.signal,
          source: 'unavailable (no value yet)',
          forecast: false,
          stale: true,
        }
      )
    },
    async refresh() {
      const now = options.clock.now()
      await Promise.all(
        zones.map(async (zone) => {
          try {
            const point = await options.source.intensityAt(zone, now)
            latest.set(zone, point)
            options.onValue?.(point)
          } catch (error) {
            options.onError?.(zone, error)
            const last = latest.get(zone)
            if (last !== undefined && !last.stale) {
              const stale = { ...last, stale: true, provenance: 'last-known' as const }
              latest.set(zone, stale)
              options.onValue?.(stale)
            }
          }
        }),
      )
    },
  }
}

/**
 * @module adapters/carbon/file-backed-source
 * Turns "load points from files" into a `CarbonIntensitySource`: loads once on first use (and again
 * after a failed load), then answers from memory.
 */
import type { CarbonIntensitySource, Instant, IntensityPoint, Signal } from '@wattline/core'
import { createPointStore, type PointStore } from './point-store.ts'

export interface FileBackedOptions {
  readonly name: string
  readonly signal: Signal
  /** Loads every point; throws WL_CARBON_SOURCE_UNAVAILABLE (unreadable) or WL_DATA_FORMAT (malformed). */
  readonly load: () => Promise<readonly IntensityPoint[]>
  readonly aliases?: Readonly<Record<string, string>>
  /** Label used in messages, usually the path. */
  readonly label: string
}

/** A source answering from points loaded once. `zones()` is empty until the first query. */
export function createFileBackedSource(options: FileBackedOptions): CarbonIntensitySource & {
  /** Loads now (to fail fast at start-up); resolves to the zones found. */
  preload(): Promise<readonly string[]>
} {
  let store: Promise<PointStore> | undefined
  let loaded: PointStore | undefined
  const get = (): Promise<PointStore> => {
    store ??= options.load().then(
      (points) => (loaded = createPointStore(points, options.label, options.aliases)),
      (error: unknown) => {
        store = undefined
        throw error
      },
    )
    return store
  }
  return {
    name: options.name,
    signal: options.signal,
    async intensityAt(zone: string, at: Instant): Promise<IntensityPoint> {
      return (await get()).intensityAt(zone, at)
    },
    async series(zone: string, from: Instant, to: Instant): Promise<readonly IntensityPoint[]> {
      return (await get()).series(zone, from, to)
    },
    zones(): readonly string[] {
      return loaded?.zones ?? []
    },
    async preload(): Promise<readonly string[]> {
      return (await get()).zones
    },
  }
}

/**
 * @module ports/carbon-intensity-source.contract
 * The contract every `CarbonIntensitySource` adapter's test runs: ordering, window bounds, value
 * sanity, the value in force for a known zone, forecast and staleness flags, error translation. Each
 * adapter supplies fixtures: a healthy source with a zone and a window it has data for (and what it
 * knows of them: a value, where forecasts start, whether values are stale), and (where the adapter
 * can fail) an unavailable one. `openCarbonSource`'s suite runs it for every kind of source.
 */
import { describe, expect, it } from 'vitest'
import { hasCode, type ErrorCode } from '../errors.ts'
import { SIGNALS } from '../carbon/intensity.ts'
import type { IntensityPoint } from '../carbon/intensity.ts'
import type { Instant } from '../units/quantity.ts'
import type { CarbonIntensitySource } from './carbon-intensity-source.ts'

/** A source plus a zone and window it has data for. */
export interface CarbonSourceFixture {
  readonly source: CarbonIntensitySource
  /** The zone to ask for, as a user would write it. */
  readonly zone: string
  /** The canonical zone id the points must carry (defaults to `zone`). */
  readonly canonicalZone?: string
  readonly from: Instant
  readonly to: Instant
  /** A zone the source must reject with `WL_UNKNOWN_ZONE`, where it can tell. */
  readonly unknownZone?: string
  /** A value the data holds: `intensityAt(zone, at)` must give this intensity (gCO2e/kWh). */
  readonly known?: { readonly at: Instant; readonly intensity: number }
  /**
   * Where forecasts start in the window: points at or after it must be `forecast`, points before it
   * measured; `'never'` when the source has no forecasts. Omit when the data mixes them otherwise.
   */
  readonly forecastFrom?: Instant | 'never'
  /** What `stale` every value in the window must carry (a source's own fresh values: false). */
  readonly stale?: boolean
}

export interface CarbonSourceScenarios {
  readonly healthy: () => CarbonSourceFixture | Promise<CarbonSourceFixture>
  /** A source whose provider fails (network down, file missing, HTTP 500); omit if it cannot fail. */
  readonly unavailable?: () => CarbonSourceFixture | Promise<CarbonSourceFixture>
}

/** Registers the port's contract tests for one adapter. */
export function testCarbonIntensitySource(name: string, scenarios: CarbonSourceScenarios): void {
  describe(`CarbonIntensitySource contract: ${name}`, () => {
    it('returns well-formed points covering the window, in time order', async () => {
      const f = await scenarios.healthy()
      const points = await f.source.series(f.zone, f.from, f.to)
      expect(points.length).toBeGreaterThan(0)
      const times = points.map((p) => p.at)
      expect(times).toEqual([...times].sort((a, b) => a - b))
      expect(times.every((t) => t < f.to)).toBe(true)
      expect(times.filter((t) => t < f.from).length).toBeLessThanOrEqual(1)
      for (const p of points) expectWellFormed(p, f.canonicalZone ?? f.zone)
    })

    it('answers intensityAt with the value in force at that instant', async () => {
      const f = await scenarios.healthy()
      const at = (f.from + Math.floor((f.to - f.from) / 2)) as Instant
      const point = await f.source.intensityAt(f.zone, at)
      expectWellFormed(point, f.canonicalZone ?? f.zone)
      expect(point.at).toBeLessThanOrEqual(at)
    })

    it('gives the value the data holds for a known zone and instant', async () => {
      const f = await scenarios.healthy()
      if (f.known === undefined) return
      const point = await f.source.intensityAt(f.zone, f.known.at)
      expect(point.intensity).toBeCloseTo(f.known.intensity, 6)
      expect(point.zone).toBe(f.canonicalZone ?? f.zone)
    })

    it('flags forecasts: from forecastFrom on, and only there', async () => {
      const f = await scenarios.healthy()
      const start = f.forecastFrom
      if (start === undefined) return
      const points = await f.source.series(f.zone, f.from, f.to)
      const flags = points.map((p) => [p.at, p.forecast])
      expect(flags).toEqual(points.map((p) => [p.at, start !== 'never' && p.at >= start]))
      if (start !== 'never' && start < f.to) expect(points.some((p) => p.forecast)).toBe(true)
    })

    it('flags staleness as the fixture states, in series and intensityAt alike', async () => {
      const f = await scenarios.healthy()
      if (f.stale === undefined) return
      const points = await f.source.series(f.zone, f.from, f.to)
      expect(points.map((p) => p.stale)).toEqual(points.map(() => f.stale))
      const at = (f.from + Math.floor((f.to - f.from) / 2)) as Instant
      expect((await f.source.intensityAt(f.zone, at)).stale).toBe(f.stale)
    })

    it('returns no points for an empty window', async () => {
      const f = await scenarios.healthy()
      expect(await f.source.series(f.zone, f.from, f.from)).toEqual([])
    })

    it('lists the zone it answered for, when it lists zones', async () => {
      const f = await scenarios.healthy()
      await f.source.intensityAt(f.zone, f.from)
      const zones = f.source.zones?.()
      if (zones !== undefined) expect(zones).toContain(f.canonicalZone ?? f.zone)
      expect(typeof f.source.name).toBe('string')
      expect(SIGNALS).toContain(f.source.signal)
    })

    it('rejects an unknown zone with WL_UNKNOWN_ZONE', async () => {
      const f = await scenarios.healthy()
      if (f.unknownZone === undefined) return
      await expectCode(f.source.intensityAt(f.unknownZone, f.from), 'WL_UNKNOWN_ZONE')
    })

    const unavailable = scenarios.unavailable
    if (unavailable !== undefined) {
      it('reports a provider failure as WL_CARBON_SOURCE_UNAVAILABLE, never a raw error', async () => {
        const f = await unavailable()
        await expectCode(f.source.series(f.zone, f.from, f.to), 'WL_CARBON_SOURCE_UNAVAILABLE')
        await expectCode(f.source.intensityAt(f.zone, f.from), 'WL_CARBON_SOURCE_UNAVAILABLE')
      })
    }
  })
}

function expectWellFormed(p: IntensityPoint, zone: string): void {
  expect(p.zone).toBe(zone)
  expect(Number.isFinite(p.at)).toBe(true)
  expect(Number.isFinite(p.intensity)).toBe(true)
  expect(p.intensity).toBeGreaterThanOrEqual(0)
  expect(SIGNALS).toContain(p.signal)
  expect(p.source.length).toBeGreaterThan(0)
  expect(typeof p.forecast).toBe('boolean')
  expect(typeof p.stale).toBe('boolean')
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  let caught: unknown
  try {
    await promise
  } catch (e) {
    caught = e
  }
  expect(caught, `expected a ${code} rejection`).toBeDefined()
  expect(hasCode(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true)
}

/**
 * @module ports/carbon-intensity-source.contract
 * The contract every `CarbonIntensitySource` adapter's test runs: ordering, window bounds, value
 * sanity, error translation. Each adapter supplies fixtures: a healthy source with a zone and a
 * window it has data for, and (where the adapter can fail) an unavailable one.
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

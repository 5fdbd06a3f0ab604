import {
  gramsPerKwh,
  instant,
  type CarbonIntensitySource,
  type IntensityPoint,
} from '@wattline/core'
import { describe, expect, it } from 'vitest'
import { forecastZone } from './batch-forecast.ts'

const H = 3_600_000
const NOW = Date.UTC(2024, 2, 10, 12)

/** A source answering `series` from a fixed list of points (a provider with or without forecasts). */
function sourceOf(points: IntensityPoint[]): CarbonIntensitySource {
  return {
    name: 'fixed',
    signal: 'average',
    intensityAt: async () => points[0]!,
    series: async (_zone, from, to) => points.filter((p) => p.at >= from && p.at < to),
  }
}
const point = (at: number, v: number, forecast: boolean): IntensityPoint => ({
  zone: 'DE',
  at: instant(at),
  intensity: gramsPerKwh(v),
  signal: 'average',
  source: 'test',
  forecast,
  stale: false,
})

describe('forecastZone', () => {
  const history = Array.from({ length: 7 * 24 }, (_, i) => {
    const at = NOW - (7 * 24 - i) * H
    return point(at, new Date(at).getUTCHours() === 14 ? 50 : 300, false)
  })
  const opts = { now_ms: NOW + 60_000, until_ms: NOW + 6 * H, slot_ms: H, history_days: 7 }

  it('falls back to seasonal-naive from history, ignoring future actuals (no perfect foresight)', async () => {
    // the source also holds actual (non-forecast) future values: a spike at 13:00 that must not leak
    const future = [point(NOW + H, 5, false), point(NOW + 2 * H, 999, false)]
    const f = await forecastZone(sourceOf([...history, ...future]), 'DE', opts)
    expect(f.basis).toBe('seasonal-naive-7d')
    expect(f.points.map((p) => p.intensity_g_per_kwh)).toEqual([300, 300, 50, 300, 300, 300])
  })

  it("uses the provider's forecast points where it has them, seasonal for the rest", async () => {
    const provided = [point(NOW, 120, true), point(NOW + H, 20, true)]
    const f = await forecastZone(sourceOf([...history, ...provided]), 'DE', opts)
    expect(f.basis).toBe('provider-forecast+seasonal-naive-7d')
    expect(f.points.map((p) => p.intensity_g_per_kwh)).toEqual([120, 20, 50, 300, 300, 300])
  })
})

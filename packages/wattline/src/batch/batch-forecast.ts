/**
 * @module batch/batch-forecast
 * The intensity forecast the batch scheduler plans on, per zone: the carbon source's own forecast
 * points where it has them (Electricity Maps, WattTime, Carbon Aware SDK), else a seasonal-naive
 * forecast from the source's history (`seasonalNaiveForecast`). Actual values at or after the
 * current slot are never used as a forecast (a file source may hold the future: that would be
 * perfect foresight, not a forecast).
 */
import {
  instant,
  seasonalNaiveForecast,
  slotStart,
  type CarbonIntensitySource,
  type SlotIntensity,
} from '@wattline/core'

export interface ZoneForecast {
  readonly points: readonly SlotIntensity[]
  /** `provider-forecast`, `seasonal-naive-<n>d`, a mix, or `none` (no data: slots rank last). */
  readonly basis: string
}

const DAY_MS = 86_400_000

export async function forecastZone(
  source: CarbonIntensitySource,
  zone: string,
  options: { now_ms: number; until_ms: number; slot_ms: number; history_days: number },
): Promise<ZoneForecast> {
  const { now_ms, until_ms, slot_ms, history_days } = options
  const nowSlot = slotStart(now_ms, slot_ms)
  const points = await source.series(
    zone,
    instant(nowSlot - (history_days + 1) * DAY_MS),
    instant(until_ms),
  )
  const history = points
    .filter((p) => p.at < nowSlot && !p.forecast)
    .map((p) => ({ at_ms: p.at as number, intensity_g_per_kwh: p.intensity as number }))
  const provided = new Map<number, number>()
  for (const p of points) {
    if (p.forecast && p.at >= nowSlot) provided.set(slotStart(p.at, slot_ms), p.intensity)
  }
  const seasonal = seasonalNaiveForecast({
    history,
    now_ms,
    until_ms,
    slot_ms,
    days: history_days,
  })
  const bySlot = new Map(seasonal.map((p) => [p.at_ms, p.intensity_g_per_kwh]))
  let fromProvider = 0
  for (const [at, v] of provided) {
    bySlot.set(at, v)
    fromProvider++
  }
  const merged = [...bySlot.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([at_ms, intensity_g_per_kwh]) => ({ at_ms, intensity_g_per_kwh }))
  const basis =
    merged.length === 0
      ? 'none'
      : fromProvider === 0
        ? `seasonal-naive-${history_days}d`
        : fromProvider >= merged.length
          ? 'provider-forecast'
          : `provider-forecast+seasonal-naive-${history_days}d`
  return { points: merged, basis }
}

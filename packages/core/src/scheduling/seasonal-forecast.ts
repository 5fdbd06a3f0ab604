/**
 * @module scheduling/seasonal-forecast
 * An honest intensity forecast from history alone, for carbon sources without a forecast (CSV
 * files, the built-in table): seasonal-naive over the daily cycle — the value for a future slot is
 * the mean of the observed values at the same hour of day over the last `days` days. It never reads
 * a value at or after `now_ms`, so a replay cannot peek at the future.
 */
import { slotStart, type SlotIntensity } from './greenest-slots.ts'

export interface SeasonalForecastInput {
  /** Observed values (any order); only those strictly before `now_ms` are read. */
  readonly history: readonly SlotIntensity[]
  readonly now_ms: number
  /** Forecast slots from the one containing `now_ms` up to (excluding) `until_ms`. */
  readonly until_ms: number
  readonly slot_ms: number
  /** Days of the daily cycle averaged (default 7: a week smooths one odd day). */
  readonly days?: number
  /** Length of the season, ms (default one day). */
  readonly period_ms?: number
}

/** Default days averaged by {@link seasonalNaiveForecast}. */
export const SEASONAL_DAYS = 7

export function seasonalNaiveForecast(input: SeasonalForecastInput): SlotIntensity[] {
  const slotMs = input.slot_ms
  const period = input.period_ms ?? 86_400_000
  const days = input.days ?? SEASONAL_DAYS
  const known = new Map<number, number>()
  for (const p of input.history) {
    if (p.at_ms < input.now_ms) known.set(slotStart(p.at_ms, slotMs), p.intensity_g_per_kwh)
  }
  const out: SlotIntensity[] = []
  const nowSlot = slotStart(input.now_ms, slotMs)
  for (let t = nowSlot; t < input.until_ms; t += slotMs) {
    let sum = 0
    let n = 0
    for (let k = 1; n < days && k <= days * 2; k++) {
      const past = t - k * period
      if (past >= nowSlot) continue
      const v = known.get(past)
      if (v !== undefined) {
        sum += v
        n++
      }
    }
    if (n > 0) out.push({ at_ms: t, intensity_g_per_kwh: sum / n })
  }
  return out
}

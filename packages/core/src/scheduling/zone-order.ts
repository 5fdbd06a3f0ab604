/**
 * @module scheduling/zone-order
 * Where a batch runs now, with fallbacks: the zone its plan chose for the current slot first, then
 * the other allowed zones from the greenest forecast value for that slot to the dirtiest (zones
 * without a value last, in their given order). The gateway routes a line to the first of these
 * zones that has a healthy backend. Pure.
 */
import { slotStart, type SlotIntensity } from './greenest-slots.ts'

export function zoneOrder(input: {
  /** The plan's zone for the current slot (first), if any. */
  readonly planned: string | undefined
  readonly now_ms: number
  readonly slot_ms: number
  /** Forecast per allowed zone (iteration order breaks ties). */
  readonly forecast: ReadonlyMap<string, readonly SlotIntensity[]>
}): string[] {
  const slot = slotStart(input.now_ms, input.slot_ms)
  const ranked = [...input.forecast].map(([zone, points], i) => {
    const p = points.find((x) => slotStart(x.at_ms, input.slot_ms) === slot)
    const v =
      p !== undefined && Number.isFinite(p.intensity_g_per_kwh) ? p.intensity_g_per_kwh : Infinity
    return { zone, v, i }
  })
  ranked.sort((a, b) => (a.v === b.v ? a.i - b.i : a.v < b.v ? -1 : 1))
  const out = ranked.map((r) => r.zone)
  if (input.planned === undefined || !out.includes(input.planned)) return out
  return [input.planned, ...out.filter((z) => z !== input.planned)]
}

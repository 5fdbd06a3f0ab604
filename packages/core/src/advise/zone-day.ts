/**
 * @module advise/zone-day
 * A zone's typical day: the built-in table's annual mean times its hourly profile averaged over the
 * twelve months, per UTC hour (gCO2e/kWh, average signal).
 */
import { BUILTIN_INTENSITY } from '../carbon/data/builtin-intensity.ts'
import {
  builtinSourceLabel,
  requireBuiltinZone,
  type BuiltinIntensityTable,
} from '../carbon/builtin-table.ts'
import type { ZoneDay } from './rank.ts'

/** Throws `WL_UNKNOWN_ZONE` (with close matches) for an unknown zone. */
export function typicalZoneDay(
  zone: string,
  table: BuiltinIntensityTable = BUILTIN_INTENSITY,
): ZoneDay {
  const id = requireBuiltinZone(table, zone)
  const z = table.zones[id]
  const profile = z === undefined ? undefined : table.profiles[z.profileFrom]
  const byHour: number[] = []
  for (let h = 0; h < 24; h++) {
    const months = profile ?? []
    const mult =
      months.length === 0 ? 1 : months.reduce((a, m) => a + (m[h] ?? 1), 0) / months.length
    byHour.push((z?.annualMean ?? 0) * mult)
  }
  return {
    zone: id,
    intensityByHour: byHour,
    source: `${builtinSourceLabel(table, id)}, typical day (12-month mean per UTC hour)`,
  }
}

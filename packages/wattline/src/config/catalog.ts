/**
 * @module config/catalog
 * The real catalogue `parseConfig` checks names against: the hardware and model catalogues, the
 * built-in intensity table's zones and the cloud-region mapping, all from `@wattline/core`.
 */
import {
  BUILTIN_INTENSITY,
  closeMatches,
  findBuiltinZone,
  findHardware,
  findModel,
  HARDWARE,
  MODELS,
  resolveRegion,
} from '@wattline/core'
import type { ConfigCatalog, Lookup } from './parse-config.ts'

/** Builds the catalogue; `extraZones` are zones a configured source knows beyond the static table. */
export function createConfigCatalog(extraZones: readonly string[] = []): ConfigCatalog {
  const zoneIds = [...Object.keys(BUILTIN_INTENSITY.zones), ...extraZones]
  return {
    hardware: (id) => {
      const hw = findHardware(id)
      return hw !== undefined
        ? ok(hw.id)
        : {
            ...miss(
              closeMatches(
                id,
                HARDWARE.map((h) => h.id),
              ),
            ),
            known: HARDWARE.map((h) => h.id),
          }
    },
    zone: (id) => {
      const z =
        findBuiltinZone(BUILTIN_INTENSITY, id) ??
        extraZones.find((x) => x.toUpperCase() === id.toUpperCase())
      return z !== undefined ? ok(z) : miss(closeMatches(id, zoneIds))
    },
    region: (id) => {
      try {
        return ok(resolveRegion(id).zone)
      } catch (error) {
        const m = (error as { details?: { matches?: unknown } }).details
        const list = Array.isArray(m?.matches) ? m.matches : []
        return miss(list.map(String))
      }
    },
    model: (id) => {
      const m = findModel(id)
      return m !== undefined
        ? ok(m.id)
        : miss(
            closeMatches(
              id,
              MODELS.flatMap((x) => [x.id, ...x.aliases]),
            ),
          )
    },
  }
}

const ok = (value: string): Lookup => ({ ok: true, value })
const miss = (matches: readonly string[]): Lookup => ({ ok: false, matches: matches.slice(0, 3) })

/**
 * @module report/breakdown-section
 * The report's breakdowns of the scope's roll-up (core's `ScopeRollup`): carbon by zone and by
 * region (largest first), and energy, PUE and peak power by backend.
 */
import { IntervalSum, JOULES_PER_WH, type ScopeRollup } from '@wattline/core'
import { figureOf, methodOf, pct, regionOfZone, round } from './report-figures.ts'
import type { BackendRow, RegionRow, ZoneRow } from './report-schema.ts'

/** Carbon, facility energy and mean intensity per zone, largest carbon first. */
export function zoneRows(acc: ScopeRollup): ZoneRow[] {
  const R = acc.requests
  const totalCarbon = acc.carbon.value
  return [...acc.zones.entries()]
    .map(([zone, z]) => ({
      zone,
      region: regionOfZone(zone),
      requests: z.requests,
      share_of_requests_pct: pct(z.requests, R),
      facility_energy_wh: round(z.facilityJ / JOULES_PER_WH),
      idle_facility_energy_wh: round(z.idleFacilityJ / JOULES_PER_WH),
      carbon_g: figureOf(z.carbon, 1),
      share_of_carbon_pct: pct(z.carbon.value, totalCarbon),
      mean_intensity_g_per_kwh: round(z.facilityJ > 0 ? z.intensityJ / z.facilityJ : 0),
      signals: [...z.signals].sort(),
      intensity_sources: [...z.sources].sort(),
    }))
    .sort((a, b) => b.carbon_g.value - a.carbon_g.value || a.zone.localeCompare(b.zone))
}

/** Zones grouped by region (the country prefix of the zone id), largest carbon first. */
export function regionRows(acc: ScopeRollup): RegionRow[] {
  const totalCarbon = acc.carbon.value
  const regions = new Map<
    string,
    { zones: string[]; requests: number; facJ: number; c: IntervalSum }
  >()
  for (const [zone, z] of acc.zones) {
    const region = regionOfZone(zone)
    const r = regions.get(region) ?? { zones: [], requests: 0, facJ: 0, c: new IntervalSum() }
    r.zones.push(zone)
    r.requests += z.requests
    r.facJ += z.facilityJ
    r.c.addSum(z.carbon)
    regions.set(region, r)
  }
  return [...regions.entries()]
    .map(([region, r]) => ({
      region,
      basis: 'zone-country' as const,
      zones: r.zones.sort(),
      requests: r.requests,
      facility_energy_wh: round(r.facJ / JOULES_PER_WH),
      carbon_g: figureOf(r.c, 1),
      share_of_carbon_pct: pct(r.c.value, totalCarbon),
    }))
    .sort((a, b) => b.carbon_g.value - a.carbon_g.value || a.region.localeCompare(b.region))
}

/** Energy, PUE, peak power and method per backend, by backend id. */
export function backendRows(
  acc: ScopeRollup,
  backendPeak: ReadonlyMap<string, number>,
): BackendRow[] {
  return [...acc.backends.entries()]
    .map(([backend, b]) => {
      const itJ = b.itJ + b.idleJ
      return {
        backend,
        zone: b.zone,
        requests: b.requests,
        it_energy_wh: round(b.itJ / JOULES_PER_WH),
        idle_energy_wh: round(b.idleJ / JOULES_PER_WH),
        pue: round(itJ > 0 ? b.facilityJ / itJ : 0),
        peak_power_w: backendPeak.has(backend) ? round(backendPeak.get(backend) ?? 0) : null,
        energy_per_output_token_j: b.outputTokens > 0 ? round(b.itJ / b.outputTokens) : null,
        method: methodOf(b.methods),
      }
    })
    .sort((a, b) => a.backend.localeCompare(b.backend))
}

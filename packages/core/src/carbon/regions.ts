/**
 * @module carbon/regions
 * Cloud region → grid zone, so configuration can say `region: aws:eu-central-1` instead of a zone.
 * The table (`data/cloud-regions.ts`) is derived from Cloud Carbon Footprint's mapping; see
 * `data/SOURCES.md`.
 */
import { WattlineError } from '../errors.ts'
import { closeMatches } from '../text/close-matches.ts'
import { CLOUD_REGIONS } from './data/cloud-regions.ts'

export const CLOUD_PROVIDERS = ['aws', 'gcp', 'azure'] as const
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number]

/** One row of the region table; `zone` is `null` for a known region with no grid mapping. */
export interface CloudRegionEntry {
  readonly provider: CloudProvider
  readonly region: string
  readonly zone: string | null
  readonly source: string
}

/** A resolved region: the provider's region id and the Electricity Maps zone it draws power from. */
export interface ResolvedRegion {
  readonly provider: CloudProvider
  readonly region: string
  readonly zone: string
  /** Which mapping placed the region (ccf, gcp-zonecode-mapper, carbon-aware-sdk-coordinates). */
  readonly source: string
}

/** Every row of the committed region table. */
export function cloudRegions(): readonly CloudRegionEntry[] {
  return CLOUD_REGIONS
}

/**
 * Resolves `aws:eu-central-1`, `gcp:europe-west4`, `azure:westeurope` (case-insensitive; `/` also
 * accepted as separator) or a plain region id when only one provider has it. Throws
 * `WL_UNKNOWN_REGION` with close matches for an unknown, ambiguous or unmapped region.
 */
export function resolveRegion(
  region: string,
  table: readonly CloudRegionEntry[] = CLOUD_REGIONS,
): ResolvedRegion {
  const text = region.trim().toLowerCase()
  const sep = text.search(/[:/]/)
  const provider = sep >= 0 ? text.slice(0, sep) : undefined
  const id = sep >= 0 ? text.slice(sep + 1) : text
  if (provider !== undefined && !(CLOUD_PROVIDERS as readonly string[]).includes(provider)) {
    throw regionError(
      region,
      `unknown cloud provider "${provider}" (expected aws, gcp or azure)`,
      table,
    )
  }
  const hits = table.filter(
    (r) => r.region === id && (provider === undefined || r.provider === provider),
  )
  if (hits.length === 0) throw regionError(region, `unknown cloud region "${region}"`, table)
  if (hits.length > 1) {
    const options = hits.map((h) => `${h.provider}:${h.region}`)
    throw new WattlineError(
      'WL_UNKNOWN_REGION',
      `region "${region}" is ambiguous; name the provider: ${options.join(', ')}`,
      { details: { region, matches: options } },
    )
  }
  const hit = hits[0] as CloudRegionEntry
  if (hit.zone === null) {
    throw new WattlineError(
      'WL_UNKNOWN_REGION',
      `${hit.provider}:${hit.region} is a known region but no source maps it to a grid zone; name a zone instead`,
      { details: { region, matches: [] } },
    )
  }
  return { provider: hit.provider, region: hit.region, zone: hit.zone, source: hit.source }
}

/** Regions (as `provider:region`) that map to `zone`. */
export function regionsInZone(
  zone: string,
  table: readonly CloudRegionEntry[] = CLOUD_REGIONS,
): readonly string[] {
  return table.filter((r) => r.zone === zone).map((r) => `${r.provider}:${r.region}`)
}

function regionError(
  region: string,
  message: string,
  table: readonly CloudRegionEntry[],
): WattlineError {
  const names = table.filter((r) => r.zone !== null).map((r) => `${r.provider}:${r.region}`)
  const bare = region.includes(':') || region.includes('/') ? region.replace('/', ':') : region
  const plain = closeMatches(bare, names)
  const matches =
    plain.length > 0
      ? plain
      : closeMatches(
          bare,
          table.map((r) => r.region),
        ).slice(0, 5)
  const hint = matches.length > 0 ? `; did you mean ${matches.join(', ')}?` : ''
  return new WattlineError('WL_UNKNOWN_REGION', `${message}${hint}`, {
    details: { region, matches },
  })
}

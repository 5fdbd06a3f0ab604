/**
 * Regenerates packages/core/src/carbon/data/builtin-intensity.ts, the built-in (static) carbon
 * intensity table: per zone an annual mean (gCO2e/kWh) and a typical hourly profile per month
 * (12 × 24 multipliers of the annual mean, by UTC month and UTC hour).
 *
 * Hourly-derived zones: Electricity Maps 2023 hourly exports, "Carbon Intensity gCO₂eq/kWh (direct)"
 * column (../shared/data/electricitymaps-hourly/2023 and electricitymaps-hourly-extra, ODbL 1.0).
 * Annual-figure zones: published annual means (see ANNUAL_FIGURES below, each cited), with the
 * typical profile borrowed from a zone in the same time zone with a similar generation mix.
 *
 * Run: npm run build:intensity-table
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseCsv, requireColumn } from '../src/adapters/carbon/csv.ts'
import { REPO_ROOT, sharedDataDir } from './shared-data.ts'

const YEAR = 2023
const OUT = resolve(REPO_ROOT, 'packages/core/src/carbon/data/builtin-intensity.ts')

interface AnnualFigure {
  readonly zone: string
  readonly name: string
  /** Where the annual mean comes from: a dataset file and a key inside it. */
  readonly from:
    | { readonly kind: 'gcp-region-carbon'; readonly region: string }
    | { readonly kind: 'mean-stats-2022'; readonly key: string }
    | { readonly kind: 'mlco2-impact'; readonly provider: string; readonly region: string }
  /** Zone whose hourly profile is borrowed (same time zone, similar mix). */
  readonly profileFrom: string
}

/**
 * Zones without hourly data. GCP region-carbon 2023 is preferred: its "Grid carbon intensity" is
 * Electricity Maps' 2023 annual average and agrees with the direct-emission column of the hourly
 * exports (SG 369/369, KR 378/378, CA-ON 47/47). Where no GCP region sits in the zone, the
 * Sukprasert et al. (EuroSys 2024) 2022 annual means (life-cycle basis) are used, and for IN-SO the
 * ML CO2 Impact table's Azure southindia figure (CEA CO2 baseline database v13).
 */
const ANNUAL_FIGURES: readonly AnnualFigure[] = [
  {
    zone: 'FR',
    name: 'France',
    from: { kind: 'gcp-region-carbon', region: 'europe-west9' },
    profileFrom: 'ES',
  },
  {
    zone: 'PL',
    name: 'Poland',
    from: { kind: 'gcp-region-carbon', region: 'europe-central2' },
    profileFrom: 'DE',
  },
  {
    zone: 'NL',
    name: 'Netherlands',
    from: { kind: 'gcp-region-carbon', region: 'europe-west4' },
    profileFrom: 'DE',
  },
  {
    zone: 'BE',
    name: 'Belgium',
    from: { kind: 'gcp-region-carbon', region: 'europe-west1' },
    profileFrom: 'DE',
  },
  {
    zone: 'CH',
    name: 'Switzerland',
    from: { kind: 'gcp-region-carbon', region: 'europe-west6' },
    profileFrom: 'DE',
  },
  {
    zone: 'IT-NO',
    name: 'Italy (North)',
    from: { kind: 'gcp-region-carbon', region: 'europe-west8' },
    profileFrom: 'ES',
  },
  {
    zone: 'FI',
    name: 'Finland',
    from: { kind: 'gcp-region-carbon', region: 'europe-north1' },
    profileFrom: 'NO',
  },
  {
    zone: 'SE-SE3',
    name: 'Sweden (SE3, Stockholm)',
    from: { kind: 'mean-stats-2022', key: 'SE-SE3' },
    profileFrom: 'NO',
  },
  {
    zone: 'NO-NO1',
    name: 'Norway (NO1, Oslo)',
    from: { kind: 'mean-stats-2022', key: 'NO-NO1' },
    profileFrom: 'NO',
  },
  {
    zone: 'NO-NO2',
    name: 'Norway (NO2, Kristiansand)',
    from: { kind: 'mean-stats-2022', key: 'NO-NO2' },
    profileFrom: 'NO',
  },
  { zone: 'IE', name: 'Ireland', from: { kind: 'mean-stats-2022', key: 'IE' }, profileFrom: 'GB' },
  {
    zone: 'US-NW-PACW',
    name: 'PacifiCorp West (Oregon)',
    from: { kind: 'gcp-region-carbon', region: 'us-west1' },
    profileFrom: 'US-CAL-CISO',
  },
  {
    zone: 'US-NW-PACE',
    name: 'PacifiCorp East (Utah)',
    from: { kind: 'gcp-region-carbon', region: 'us-west3' },
    profileFrom: 'US-CAL-CISO',
  },
  {
    zone: 'US-NW-NEVP',
    name: 'Nevada Power (Las Vegas)',
    from: { kind: 'gcp-region-carbon', region: 'us-west4' },
    profileFrom: 'US-CAL-CISO',
  },
  {
    zone: 'US-MIDW-MISO',
    name: 'MISO (Midwest; GCP Iowa)',
    from: { kind: 'gcp-region-carbon', region: 'us-central1' },
    profileFrom: 'US-TEX-ERCO',
  },
  {
    zone: 'US-CAR-SCEG',
    name: 'South Carolina (SCE&G)',
    from: { kind: 'gcp-region-carbon', region: 'us-east1' },
    profileFrom: 'US-MIDA-PJM',
  },
  {
    zone: 'CA-QC',
    name: 'Québec',
    from: { kind: 'gcp-region-carbon', region: 'northamerica-northeast1' },
    profileFrom: 'CA-ON',
  },
  {
    zone: 'JP-KN',
    name: 'Japan (Kansai)',
    from: { kind: 'gcp-region-carbon', region: 'asia-northeast2' },
    profileFrom: 'JP-TK',
  },
  {
    zone: 'TW',
    name: 'Taiwan',
    from: { kind: 'gcp-region-carbon', region: 'asia-east1' },
    profileFrom: 'KR',
  },
  {
    zone: 'HK',
    name: 'Hong Kong',
    from: { kind: 'gcp-region-carbon', region: 'asia-east2' },
    profileFrom: 'SG',
  },
  {
    zone: 'ID',
    name: 'Indonesia (Java-Bali)',
    from: { kind: 'gcp-region-carbon', region: 'asia-southeast2' },
    profileFrom: 'SG',
  },
  {
    zone: 'IN-NO',
    name: 'India (North)',
    from: { kind: 'gcp-region-carbon', region: 'asia-south2' },
    profileFrom: 'IN-WE',
  },
  {
    zone: 'IN-SO',
    name: 'India (South)',
    from: { kind: 'mlco2-impact', provider: 'azure', region: 'southindia' },
    profileFrom: 'IN-WE',
  },
]

/** Other spellings that name the same zone (country codes, file-folder names, older ids). */
const ALIASES: Readonly<Record<string, string>> = {
  'DE-LU': 'DE',
  'BR-SP': 'BR-CS',
  'CL-SIC': 'CL-SEN',
  'AUS-NSW': 'AU-NSW',
  'AUS-VIC': 'AU-VIC',
  'IN-MH': 'IN-WE',
  'IN-DL': 'IN-NO',
  SE: 'SE-SE3',
  IT: 'IT-NO',
}

interface HourlyZone {
  zone: string
  name: string
  file: string
  mean: number
  hours: number
  estimatedShare: number
  profile: number[][]
}

function readHourly(path: string, label: string): HourlyZone {
  const table = parseCsv(readFileSync(path, 'utf8'), label)
  const timeCol = requireColumn(table.header, ['Datetime (UTC)'], label)
  const zoneCol = requireColumn(table.header, ['Zone Id'], label)
  const nameCol = requireColumn(table.header, ['Zone Name'], label)
  const valueCol = requireColumn(table.header, ['Carbon Intensity gCO₂eq/kWh (direct)'], label)
  const estCol = requireColumn(table.header, ['Data Estimated'], label)
  const sums = Array.from({ length: 12 }, () => new Array<number>(24).fill(0))
  const counts = Array.from({ length: 12 }, () => new Array<number>(24).fill(0))
  let total = 0
  let estimated = 0
  const first = table.rows[0]
  if (first === undefined) throw new Error(`${label}: no rows`)
  for (const row of table.rows) {
    const at = Date.parse(`${row.cells[timeCol]?.replace(' ', 'T')}Z`)
    const value = Number(row.cells[valueCol])
    if (!Number.isFinite(at) || !Number.isFinite(value))
      throw new Error(`${label}:${row.line}: bad row`)
    const d = new Date(at)
    const m = d.getUTCMonth()
    const h = d.getUTCHours()
    ;(sums[m] as number[])[h] = ((sums[m] as number[])[h] as number) + value
    ;(counts[m] as number[])[h] = ((counts[m] as number[])[h] as number) + 1
    total += value
    if (row.cells[estCol] === 'true') estimated += 1
  }
  const mean = total / table.rows.length
  const profile = sums.map((row, m) =>
    row.map((s, h) => round(s / ((counts[m] as number[])[h] as number) / mean, 4)),
  )
  return {
    zone: first.cells[zoneCol] as string,
    name: first.cells[nameCol] as string,
    file: label,
    mean: round(mean, 1),
    hours: table.rows.length,
    estimatedShare: round(estimated / table.rows.length, 3),
    profile,
  }
}

function annualFigure(
  data: string,
  f: AnnualFigure,
): { value: number; source: string; ref: string; year: number; basis: string } {
  switch (f.from.kind) {
    case 'gcp-region-carbon': {
      const label = `gcp-region-carbon/${YEAR}.csv`
      const t = parseCsv(readFileSync(join(data, label), 'utf8'), label)
      const regionCol = requireColumn(t.header, ['Google Cloud Region'], label)
      const valueCol = requireColumn(t.header, ['Grid carbon intensity (gCO2eq / kWh)'], label)
      const region = f.from.region
      const row = t.rows.find((r) => r.cells[regionCol] === region)
      if (row === undefined) throw new Error(`${label}: no row for ${region}`)
      return {
        value: Number(row.cells[valueCol]),
        year: YEAR,
        ref: `Google region-carbon ${YEAR} ${region}`,
        basis: 'location-based grid average (Electricity Maps via Google)',
        source: `Google Cloud region-carbon-info ${YEAR}, ${region} (GoogleCloudPlatform/region-carbon-info, Apache-2.0)`,
      }
    }
    case 'mean-stats-2022': {
      const label = 'cloud-region-latency-and-zones/mean_stats.csv'
      const t = parseCsv(readFileSync(join(data, label), 'utf8'), label)
      const zoneCol = requireColumn(t.header, ['zonecode'], label)
      const valueCol = requireColumn(t.header, ['2022'], label)
      const key = f.from.key
      const row = t.rows.find((r) => r.cells[zoneCol] === key)
      if (row === undefined) throw new Error(`${label}: no row for ${key}`)
      return {
        value: round(Number(row.cells[valueCol]), 1),
        year: 2022,
        ref: `Electricity Maps 2022 annual mean (mean_stats ${key})`,
        basis: 'life-cycle grid average (Electricity Maps)',
        source: `Electricity Maps 2022 annual mean via Sukprasert et al. EuroSys 2024 (umassos/decarbonization-potential mean_stats.csv, ${key})`,
      }
    }
    case 'mlco2-impact': {
      const label = 'mlco2-impact/impact.csv'
      const t = parseCsv(readFileSync(join(data, label), 'utf8'), label)
      const pCol = requireColumn(t.header, ['provider'], label)
      const rCol = requireColumn(t.header, ['region'], label)
      const vCol = requireColumn(t.header, ['impact'], label)
      const { provider, region } = f.from
      const row = t.rows.find((r) => r.cells[pCol] === provider && r.cells[rCol] === region)
      if (row === undefined) throw new Error(`${label}: no row for ${provider} ${region}`)
      return {
        value: Number(row.cells[vCol]),
        year: 2018,
        ref: `mlco2 impact.csv ${provider} ${region}`,
        basis: 'national grid emission factor (CEA CO2 baseline database user guide v13, ca. 2018)',
        source: `ML CO2 Impact calculator impact.csv, ${provider} ${region} (mlco2/impact, MIT), citing CEA baseline v13`,
      }
    }
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function main(): void {
  const data = sharedDataDir()
  const files = [
    ...readdirSync(join(data, 'electricitymaps-hourly', String(YEAR)))
      .filter((f) => f.endsWith('.csv'))
      .map((f) => `electricitymaps-hourly/${YEAR}/${f}`),
    ...readdirSync(join(data, 'electricitymaps-hourly-extra'))
      .filter((f) => f.endsWith(`_${YEAR}_hourly.csv`))
      .map((f) => `electricitymaps-hourly-extra/${f}`),
  ].sort()
  const hourly = files.map((f) => readHourly(join(data, f), f))
  const profiles: Record<string, number[][]> = {}
  const zones: Record<string, unknown> = {}
  for (const z of hourly) {
    profiles[z.zone] = z.profile
    zones[z.zone] = {
      name: z.name,
      annualMean: z.mean,
      basis: 'hourly-derived',
      year: YEAR,
      profileFrom: z.zone,
      ref: `Electricity Maps ${YEAR} hourly`,
      source: `Electricity Maps ${YEAR} hourly export, direct-emission intensity, mean of ${z.hours} hours (${z.file}; ${Math.round(z.estimatedShare * 100)} % of hours estimated by Electricity Maps; ODbL 1.0)`,
    }
  }
  for (const f of ANNUAL_FIGURES) {
    if (profiles[f.profileFrom] === undefined)
      throw new Error(`no hourly profile for ${f.profileFrom}`)
    if (zones[f.zone] !== undefined) throw new Error(`duplicate zone ${f.zone}`)
    const a = annualFigure(data, f)
    zones[f.zone] = {
      name: f.name,
      annualMean: a.value,
      basis: 'annual-figure',
      year: a.year,
      profileFrom: f.profileFrom,
      ref: a.ref,
      source: `${a.source}; ${a.basis}; hourly shape borrowed from ${f.profileFrom} (Electricity Maps ${YEAR})`,
    }
  }
  for (const [alias, zone] of Object.entries(ALIASES)) {
    if (zones[zone] === undefined) throw new Error(`alias ${alias} → unknown zone ${zone}`)
  }
  const sortedZones = Object.fromEntries(
    Object.entries(zones).sort(([a], [b]) => a.localeCompare(b)),
  )
  const table = {
    version: `wattline-builtin-${YEAR}`,
    profileYear: YEAR,
    intensity: 'direct',
    signal: 'average',
    zones: sortedZones,
    aliases: ALIASES,
    profiles,
  }
  const body = `/**
 * @module carbon/data/builtin-intensity
 * GENERATED by packages/wattline/scripts/build-intensity-table.ts (npm run build:intensity-table);
 * do not edit by hand. Source note: packages/core/src/carbon/data/SOURCES.md.
 *
 * Per zone: annual mean grid carbon intensity (gCO2e/kWh, average signal) and the zone whose typical
 * hourly profile applies. \`profiles[zone][month][hour]\` is a dimensionless multiplier of the annual
 * mean, indexed by UTC month (0 = January) and UTC hour, derived from Electricity Maps ${YEAR} data.
 */
import type { BuiltinIntensityTable } from '../builtin-table.ts'

export const BUILTIN_INTENSITY: BuiltinIntensityTable = ${JSON.stringify(table)}
`
  writeFileSync(OUT, body)
  console.log(`wrote ${OUT}: ${Object.keys(zones).length} zones (${hourly.length} hourly-derived)`)
}

main()

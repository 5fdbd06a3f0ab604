/**
 * @module cli/commands/zones
 * `wattline zones [--json]`: the zones of the built-in intensity table with their annual mean, data
 * basis and source, and the cloud regions that map to each.
 */
import type { Command } from 'commander'
import { BUILTIN_INTENSITY, regionsInZone } from '@wattline/core'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { writeJson, type CliIo } from '../io.ts'

/** One row of `wattline zones --json`. */
export interface ZoneRow {
  readonly zone: string
  readonly name: string
  readonly annual_mean_g_per_kwh: number
  readonly basis: 'hourly-derived' | 'annual-figure'
  readonly year: number
  readonly profile_from: string
  readonly aliases: readonly string[]
  readonly source: string
  readonly regions: readonly string[]
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('zones')
    .description(
      'List the grid zones of the built-in intensity table and the cloud regions in each',
    )
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const rows = zoneRows()
      if (opts.json === true) writeJson(io, rows)
      else io.stdout.write(renderZones(rows))
      setExit(EXIT.ok)
    })
}

/** Every built-in zone, sorted by id. */
export function zoneRows(): ZoneRow[] {
  return Object.entries(BUILTIN_INTENSITY.zones)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([zone, z]) => ({
      zone,
      name: z.name,
      annual_mean_g_per_kwh: z.annualMean,
      basis: z.basis,
      year: z.year,
      profile_from: z.profileFrom,
      aliases: Object.entries(BUILTIN_INTENSITY.aliases)
        .filter(([, target]) => target === zone)
        .map(([alias]) => alias),
      source: z.source,
      regions: regionsInZone(zone),
    }))
}

function renderZones(rows: readonly ZoneRow[]): string {
  const lines = rows.map((r) => {
    const basis =
      r.basis === 'hourly-derived'
        ? `hourly ${r.year}`
        : `annual ${r.year}, profile of ${r.profile_from}`
    const regions = r.regions.length > 0 ? `  ${r.regions.join(' ')}` : ''
    return `${r.zone.padEnd(13)} ${r.annual_mean_g_per_kwh.toFixed(1).padStart(6)}  ${basis.padEnd(32)}${regions}`
  })
  return [
    `zone          g/kWh  basis (annual mean, gCO2e/kWh; built-in table ${BUILTIN_INTENSITY.version})   cloud regions`,
    ...lines,
    `${rows.length} zones; sources: wattline zones --json, docs/carbon.md`,
    '',
  ].join('\n')
}

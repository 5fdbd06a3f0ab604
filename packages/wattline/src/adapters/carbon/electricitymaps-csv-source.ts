/**
 * @module adapters/carbon/electricitymaps-csv-source
 * Electricity Maps' CSV export (the free data-portal format, as in ../shared/data/electricitymaps-hourly):
 * `Datetime (UTC), Country, Zone Name, Zone Id, Carbon Intensity gCO₂eq/kWh (direct),
 * Carbon Intensity gCO₂eq/kWh (LCA), …, Data Estimated, …`. The zone comes from `Zone Id`; one file
 * or a folder of files (several zones and years merge). Average signal.
 */
import { gramsPerKwh, type CarbonIntensitySource, type IntensityPoint } from '@wattline/core'
import { cellAt, dataFormatError, parseCsv, requireColumn } from './csv.ts'
import { createFileBackedSource } from './file-backed-source.ts'
import { loadDataFiles } from './file-loader.ts'
import { parseTimestamp } from './point-store.ts'

export interface ElectricityMapsCsvOptions {
  /** A CSV file or a folder of them. */
  readonly path: string
  /** Which intensity column: direct combustion (default, as the built-in table) or life-cycle. */
  readonly basis?: 'direct' | 'lca'
}

/** Spellings of the hourly-data folders that differ from the `Zone Id` inside. */
const ALIASES = { 'DE-LU': 'DE', 'BR-SP': 'BR-CS', 'CL-SIC': 'CL-SEN' }

/** A source over Electricity Maps CSV exports. */
export function createElectricityMapsCsvSource(
  options: ElectricityMapsCsvOptions,
): CarbonIntensitySource & { preload(): Promise<readonly string[]> } {
  const name = `electricitymaps-csv:${options.path}`
  return createFileBackedSource({
    name,
    signal: 'average',
    label: options.path,
    aliases: ALIASES,
    load: async () => {
      const files = await loadDataFiles(options.path, ['.csv'], name)
      return files.flatMap((f) =>
        parseElectricityMapsCsv(f.text, f.label, options.basis ?? 'direct'),
      )
    },
  })
}

/** Parses one export; `WL_DATA_FORMAT` with file/line/column on any malformed cell. */
export function parseElectricityMapsCsv(
  text: string,
  file: string,
  basis: 'direct' | 'lca' = 'direct',
): IntensityPoint[] {
  const table = parseCsv(text, file)
  const timeCol = requireColumn(table.header, ['Datetime (UTC)'], file)
  const zoneCol = requireColumn(table.header, ['Zone Id'], file)
  const valueCol = requireColumn(
    table.header,
    basis === 'direct'
      ? ['Carbon Intensity gCO₂eq/kWh (direct)', 'Carbon Intensity gCO2eq/kWh (direct)']
      : ['Carbon Intensity gCO₂eq/kWh (LCA)', 'Carbon Intensity gCO2eq/kWh (LCA)'],
    file,
  )
  const source = `electricitymaps-csv:${file}`
  return table.rows.map((row) => {
    const time = cellAt(row, timeCol)
    const at = parseTimestamp(time.value)
    if (at === undefined)
      throw dataFormatError(file, row.line, time.column, `invalid datetime "${time.value}"`)
    const zone = cellAt(row, zoneCol)
    if (zone.value.trim() === '')
      throw dataFormatError(file, row.line, zone.column, 'empty Zone Id')
    const value = cellAt(row, valueCol)
    const intensity = Number(value.value)
    if (value.value.trim() === '' || !Number.isFinite(intensity) || intensity < 0) {
      throw dataFormatError(
        file,
        row.line,
        value.column,
        `invalid intensity "${value.value}" (gCO2e/kWh)`,
      )
    }
    return {
      zone: zone.value.trim(),
      at,
      intensity: gramsPerKwh(intensity),
      signal: 'average',
      source,
      forecast: false,
      stale: false,
    }
  })
}

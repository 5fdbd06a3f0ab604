/**
 * @module adapters/carbon/watttime-csv-source
 * WattTime MOER (marginal operating emissions rate) CSVs as in ../shared/data/watttime-moer-caiso-north
 * (vessim's export): actuals `time,<Region>` and historical forecasts
 * `request_time,forecast_time,<Region>`, naive UTC timestamps, one file or a folder of both.
 *
 * Units: vessim's files are already in gCO2/kWh (`unit: 'g_per_kwh'`, the default). WattTime's own
 * API and raw exports give lbs CO2 per MWh; with `unit: 'lbs_per_mwh'` values are converted:
 * 1 lb/MWh = 453.59237 g / 1000 kWh = 0.45359237 g/kWh.
 *
 * Forecasts: points after the last actual come from the latest forecast issue. With `asOf`, actuals
 * after `asOf` are hidden and forecasts come from the latest issue at or before it, so a replay can
 * decide with forecasts and be scored with actuals.
 */
import {
  gramsPerKwh,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
} from '@wattline/core'
import { cellAt, dataFormatError, parseCsv, requireColumn, type CsvTable } from './csv.ts'
import { createFileBackedSource } from './file-backed-source.ts'
import { loadDataFiles } from './file-loader.ts'
import { parseTimestamp } from './point-store.ts'

/** g/kWh per lb/MWh. */
export const G_PER_KWH_PER_LBS_PER_MWH = 0.45359237

/** WattTime region (upper-case) → Electricity Maps zone, for the regions we know. */
export const WATTTIME_REGION_ZONES: Readonly<Record<string, string>> = {
  CAISO_NORTH: 'US-CAL-CISO',
  CAISO_SOUTH: 'US-CAL-CISO',
  ERCOT_NORTHCENTRAL: 'US-TEX-ERCO',
  PJM_DC: 'US-MIDA-PJM',
  NYISO_NYC: 'US-NY-NYIS',
}

export interface WattTimeCsvOptions {
  readonly path: string
  /** Zone the data belong to; defaults to the WattTime region's zone (CAISO_NORTH → US-CAL-CISO). */
  readonly zone?: string
  readonly unit?: 'g_per_kwh' | 'lbs_per_mwh'
  /** Pretend it is this instant: hide later actuals and use forecasts issued by then. */
  readonly asOf?: Instant
}

/** A marginal-signal source over WattTime MOER CSVs. */
export function createWattTimeCsvSource(
  options: WattTimeCsvOptions,
): CarbonIntensitySource & { preload(): Promise<readonly string[]> } {
  const name = `watttime-csv:${options.path}`
  let regions: Record<string, string> = {}
  return createFileBackedSource({
    name,
    signal: 'marginal',
    label: options.path,
    get aliases() {
      return regions
    },
    load: async () => {
      const files = await loadDataFiles(options.path, ['.csv'], name)
      const parsed = files.map((f) => parseWattTimeCsv(f.text, f.label, options))
      regions = Object.fromEntries(parsed.map((p) => [p.region.toUpperCase(), p.zone]))
      return mergeActualsAndForecasts(parsed, options.asOf)
    },
  })
}

interface ParsedWattTime {
  readonly region: string
  readonly zone: string
  readonly actuals: IntensityPoint[]
  /** Forecast issues: request time → points. */
  readonly forecasts: Map<number, IntensityPoint[]>
}

/** Parses one actuals or forecasts file (told apart by its header). */
export function parseWattTimeCsv(
  text: string,
  file: string,
  options: WattTimeCsvOptions = { path: file },
): ParsedWattTime {
  const table = parseCsv(text, file)
  const isForecast = table.header.some((h) => h.toLowerCase() === 'request_time')
  const timeCol = requireColumn(table.header, [isForecast ? 'forecast_time' : 'time'], file)
  const valueCol = table.header.findIndex(
    (h) => !['time', 'request_time', 'forecast_time'].includes(h.toLowerCase()),
  )
  if (valueCol < 0) throw dataFormatError(file, 1, 1, 'no region value column (e.g. "Caiso_North")')
  const region = (table.header[valueCol] as string).toUpperCase()
  const zone = options.zone ?? WATTTIME_REGION_ZONES[region] ?? region
  const factor = options.unit === 'lbs_per_mwh' ? G_PER_KWH_PER_LBS_PER_MWH : 1
  const source = `watttime-csv:${file} (MOER, ${options.unit === 'lbs_per_mwh' ? 'lbs/MWh × 0.45359237' : 'g/kWh'})`
  const point = (
    table: CsvTable['rows'][number],
    col: number,
    forecast: boolean,
  ): IntensityPoint => {
    const t = cellAt(table, col)
    const at = parseTimestamp(t.value)
    if (at === undefined)
      throw dataFormatError(file, table.line, t.column, `invalid timestamp "${t.value}"`)
    const v = cellAt(table, valueCol)
    const value = Number(v.value)
    if (v.value.trim() === '' || !Number.isFinite(value) || value < 0) {
      throw dataFormatError(file, table.line, v.column, `invalid MOER "${v.value}"`)
    }
    return {
      zone,
      at,
      intensity: gramsPerKwh(value * factor),
      signal: 'marginal',
      source,
      forecast,
      stale: false,
    }
  }
  const actuals: IntensityPoint[] = []
  const forecasts = new Map<number, IntensityPoint[]>()
  if (!isForecast) {
    for (const row of table.rows) actuals.push(point(row, timeCol, false))
  } else {
    const reqCol = requireColumn(table.header, ['request_time'], file)
    for (const row of table.rows) {
      const r = cellAt(row, reqCol)
      const issued = parseTimestamp(r.value)
      if (issued === undefined)
        throw dataFormatError(file, row.line, r.column, `invalid request_time "${r.value}"`)
      let list = forecasts.get(issued)
      if (list === undefined) forecasts.set(issued, (list = []))
      list.push(point(row, timeCol, true))
    }
  }
  return { region, zone, actuals, forecasts }
}

function mergeActualsAndForecasts(
  parsed: readonly ParsedWattTime[],
  asOf: Instant | undefined,
): IntensityPoint[] {
  const out: IntensityPoint[] = []
  const zones = new Set(parsed.map((p) => p.zone))
  for (const zone of zones) {
    const mine = parsed.filter((p) => p.zone === zone)
    const actuals = mine.flatMap((p) => p.actuals).filter((p) => asOf === undefined || p.at <= asOf)
    const lastActual = actuals.reduce((m, p) => Math.max(m, p.at), -Infinity)
    const cutoff = asOf ?? (Number.isFinite(lastActual) ? lastActual : Infinity)
    let issue: IntensityPoint[] = []
    let issueAt = -Infinity
    for (const p of mine) {
      for (const [at, list] of p.forecasts) {
        if (at <= cutoff && at > issueAt) {
          issueAt = at
          issue = list
        }
      }
    }
    out.push(...actuals, ...issue.filter((p) => p.at > lastActual))
  }
  return out
}

/**
 * @module adapters/carbon/generic-file-source
 * Wattline's own documented intensity formats, for replays, CI and offline runs.
 *
 * CSV — header row with these columns (any order, case-insensitive):
 *   `zone` (Electricity Maps id), `datetime` (ISO 8601; no offset = UTC), `intensity_g_per_kwh`,
 *   optional `signal` (`average` | `marginal`, default from options), optional `forecast` (`true`/`false`).
 * JSON — an array of objects with the same fields, or `{ "points": [ … ] }`.
 * Every malformed value is `WL_DATA_FORMAT` naming file, line and column.
 */
import {
  gramsPerKwh,
  SIGNALS,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
  type Signal,
} from '@wattline/core'
import { cellAt, dataFormatError, findColumn, parseCsv, requireColumn } from './csv.ts'
import { createFileBackedSource } from './file-backed-source.ts'
import { loadDataFiles } from './file-loader.ts'
import { parseTimestamp } from './point-store.ts'

export interface GenericFileOptions {
  readonly path: string
  readonly format: 'csv' | 'json'
  /** Signal of rows without a `signal` field. */
  readonly signal?: Signal
}

/** A source over Wattline's generic CSV or JSON intensity files. */
export function createGenericFileSource(
  options: GenericFileOptions,
): CarbonIntensitySource & { preload(): Promise<readonly string[]> } {
  const name = `${options.format}:${options.path}`
  const signal = options.signal ?? 'average'
  return createFileBackedSource({
    name,
    signal,
    label: options.path,
    load: async () => {
      const files = await loadDataFiles(options.path, [`.${options.format}`], name)
      return files.flatMap((f) =>
        options.format === 'csv'
          ? parseGenericCsv(f.text, f.label, signal)
          : parseGenericJson(f.text, f.label, signal),
      )
    },
  })
}

/** Parses the generic CSV format. */
export function parseGenericCsv(
  text: string,
  file: string,
  defaultSignal: Signal = 'average',
): IntensityPoint[] {
  const table = parseCsv(text, file)
  const zoneCol = requireColumn(table.header, ['zone'], file)
  const timeCol = requireColumn(table.header, ['datetime'], file)
  const valueCol = requireColumn(table.header, ['intensity_g_per_kwh'], file)
  const signalCol = findColumn(table.header, ['signal'])
  const forecastCol = findColumn(table.header, ['forecast'])
  return table.rows.map((row) => {
    const get = (col: number): Field => ({ ...cellAt(row, col), line: row.line })
    return toPoint(
      {
        zone: get(zoneCol),
        datetime: get(timeCol),
        intensity: get(valueCol),
        signal: signalCol >= 0 ? get(signalCol) : undefined,
        forecast: forecastCol >= 0 ? get(forecastCol) : undefined,
      },
      file,
      defaultSignal,
    )
  })
}

/** Parses the generic JSON format; positions point at the offending item's field. */
export function parseGenericJson(
  text: string,
  file: string,
  defaultSignal: Signal = 'average',
): IntensityPoint[] {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    const pos = /position (\d+)/.exec(message)
    const { line, column } = lineColumn(text, pos === null ? 0 : Number(pos[1]))
    throw dataFormatError(file, line, column, `invalid JSON: ${message}`)
  }
  const items = Array.isArray(data)
    ? data
    : typeof data === 'object' &&
        data !== null &&
        Array.isArray((data as { points?: unknown }).points)
      ? (data as { points: unknown[] }).points
      : undefined
  if (items === undefined)
    throw dataFormatError(file, 1, 1, 'expected an array of points or {"points": [...]}')
  const offsets = elementOffsets(text)
  return items.map((item, index) => {
    const at = lineColumn(text, offsets[index] ?? 0)
    if (typeof item !== 'object' || item === null)
      throw dataFormatError(file, at.line, at.column, `point ${index} is not an object`)
    const record = item as Record<string, unknown>
    const field = (key: string): Field | undefined => {
      if (!(key in record)) return undefined
      const value = record[key]
      const keyAt = findKey(text, offsets[index] ?? 0, key)
      const pos = lineColumn(text, keyAt)
      return {
        value:
          value === null || value === undefined ? '' : String(value as string | number | boolean),
        line: pos.line,
        column: pos.column,
      }
    }
    const missing = (key: string): Field => {
      throw dataFormatError(file, at.line, at.column, `point ${index} lacks "${key}"`)
    }
    return toPoint(
      {
        zone: field('zone') ?? missing('zone'),
        datetime: field('datetime') ?? missing('datetime'),
        intensity: field('intensity_g_per_kwh') ?? missing('intensity_g_per_kwh'),
        signal: field('signal'),
        forecast: field('forecast'),
      },
      file,
      defaultSignal,
    )
  })
}

interface Field {
  readonly value: string
  readonly line: number
  readonly column: number
}

function toPoint(
  f: {
    zone: Field
    datetime: Field
    intensity: Field
    signal: Field | undefined
    forecast: Field | undefined
  },
  file: string,
  defaultSignal: Signal,
): IntensityPoint {
  const bad = (x: Field, problem: string): never => {
    throw dataFormatError(file, x.line, x.column, problem)
  }
  const zone = f.zone.value.trim()
  if (zone === '') bad(f.zone, 'empty zone')
  const at: Instant =
    parseTimestamp(f.datetime.value) ??
    bad(f.datetime, `invalid datetime "${f.datetime.value}" (ISO 8601 expected)`)
  const value = Number(f.intensity.value)
  if (f.intensity.value.trim() === '' || !Number.isFinite(value) || value < 0) {
    bad(f.intensity, `invalid intensity_g_per_kwh "${f.intensity.value}" (a number ≥ 0)`)
  }
  let signal = defaultSignal
  if (f.signal !== undefined && f.signal.value.trim() !== '') {
    const s = f.signal.value.trim().toLowerCase()
    if (!(SIGNALS as readonly string[]).includes(s))
      bad(f.signal, `invalid signal "${f.signal.value}" (average or marginal)`)
    signal = s as Signal
  }
  let forecast = false
  if (f.forecast !== undefined && f.forecast.value.trim() !== '') {
    const s = f.forecast.value.trim().toLowerCase()
    if (s !== 'true' && s !== 'false')
      bad(f.forecast, `invalid forecast "${f.forecast.value}" (true or false)`)
    forecast = s === 'true'
  }
  return {
    zone,
    at,
    intensity: gramsPerKwh(value),
    signal,
    source: `${file}`,
    forecast,
    stale: false,
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1
  let last = -1
  for (let i = 0; i < Math.min(offset, text.length); i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1
      last = i
    }
  }
  return { line, column: offset - last }
}

/** Offsets where each element of the points array starts (top-level array, or the first array one level down). */
function elementOffsets(text: string): number[] {
  const offsets: number[] = []
  let depth = 0
  let arrayDepth = -1
  let inString = false
  let expectElement = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (inString) {
      if (c === '\\') i += 1
      else if (c === '"') inString = false
      continue
    }
    if (expectElement && !/\s/.test(c) && c !== ']') {
      offsets.push(i)
      expectElement = false
    }
    if (c === '"') inString = true
    else if (c === '[' || c === '{') {
      depth += 1
      if (c === '[' && arrayDepth < 0 && depth <= 2) {
        arrayDepth = depth
        expectElement = true
      }
    } else if (c === ']' || c === '}') {
      if (depth === arrayDepth) arrayDepth = -2
      depth -= 1
    } else if (c === ',' && depth === arrayDepth) expectElement = true
  }
  return offsets
}

/** Offset of `"key"` at or after `from` (the value's key inside one element), or `from`. */
function findKey(text: string, from: number, key: string): number {
  const i = text.indexOf(`"${key}"`, from)
  return i < 0 ? from : i
}

/**
 * @module adapters/carbon/csv
 * A small RFC 4180 CSV reader that keeps positions: every cell knows its line and column, so a
 * malformed data file is reported as `file:line:column` (`WL_DATA_FORMAT`), never as a bare NaN.
 */
import { WattlineError } from '@wattline/core'

/** One data row: cells with the 1-based line and column where each cell starts. */
export interface CsvRow {
  readonly line: number
  readonly cells: readonly string[]
  readonly columns: readonly number[]
}

export interface CsvTable {
  readonly header: readonly string[]
  readonly rows: readonly CsvRow[]
}

/**
 * Parses CSV text (comma-separated, `"` quoting, LF or CRLF line ends, optional UTF-8 BOM). Blank
 * lines are skipped. Throws `WL_DATA_FORMAT` with `{file, line, column}` on an unterminated quote or
 * a row whose cell count differs from the header's.
 */
export function parseCsv(text: string, file: string): CsvTable {
  const records = splitRecords(text.startsWith('\uFEFF') ? text.slice(1) : text, file)
  const first = records[0]
  if (first === undefined) throw dataFormatError(file, 1, 1, 'the file is empty (no header row)')
  const header = first.cells.map((c) => c.trim())
  const rows: CsvRow[] = []
  for (const record of records.slice(1)) {
    if (record.cells.length !== header.length) {
      const column = record.columns[Math.min(record.cells.length, header.length) - 1] ?? 1
      throw dataFormatError(
        file,
        record.line,
        column,
        `expected ${header.length} cells as in the header, found ${record.cells.length}`,
      )
    }
    rows.push(record)
  }
  return { header, rows }
}

/** Index of `name` in `header` (case-insensitive, trimmed), or a `WL_DATA_FORMAT` naming what is missing. */
export function requireColumn(
  header: readonly string[],
  names: readonly string[],
  file: string,
): number {
  const wanted = names.map((n) => n.toLowerCase())
  const index = header.findIndex((h) => wanted.includes(h.trim().toLowerCase()))
  if (index < 0) {
    throw dataFormatError(
      file,
      1,
      1,
      `missing column ${names.map((n) => `"${n}"`).join(' or ')} (header: ${header.join(', ')})`,
    )
  }
  return index
}

/** Optional column: index, or -1 when absent. */
export function findColumn(header: readonly string[], names: readonly string[]): number {
  const wanted = names.map((n) => n.toLowerCase())
  return header.findIndex((h) => wanted.includes(h.trim().toLowerCase()))
}

/** The cell at `index` of `row` with its column, for error reporting. */
export function cellAt(row: CsvRow, index: number): { value: string; column: number } {
  return { value: row.cells[index] ?? '', column: row.columns[index] ?? 1 }
}

/** A `WL_DATA_FORMAT` error naming the file, line and column (1-based). */
export function dataFormatError(
  file: string,
  line: number,
  column: number,
  problem: string,
): WattlineError {
  return new WattlineError('WL_DATA_FORMAT', `${file}:${line}:${column}: ${problem}`, {
    details: { file, line, column },
  })
}

interface RawRecord {
  line: number
  cells: string[]
  columns: number[]
}

function splitRecords(text: string, file: string): RawRecord[] {
  const records: RawRecord[] = []
  let line = 1
  let col = 1
  let i = 0
  let current: RawRecord = { line, cells: [], columns: [] }
  let cell = ''
  let cellStart = 1
  let quoted = false
  let quoteLine = 1
  let quoteCol = 1
  let rowHasContent = false
  const endCell = (): void => {
    current.cells.push(cell)
    current.columns.push(cellStart)
    cell = ''
  }
  const endRecord = (): void => {
    endCell()
    if (rowHasContent || current.cells.length > 1) records.push(current)
    rowHasContent = false
  }
  while (i < text.length) {
    const ch = text[i] as string
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"'
          i += 2
          col += 2
          continue
        }
        quoted = false
      } else if (ch === '\n') {
        cell += ch
        line += 1
        col = 0
      } else {
        cell += ch
      }
    } else if (ch === '"' && cell.length === 0) {
      quoted = true
      rowHasContent = true
      quoteLine = line
      quoteCol = col
    } else if (ch === ',') {
      endCell()
      cellStart = col + 1
      rowHasContent = true
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i += 1
      endRecord()
      line += 1
      col = 0
      current = { line, cells: [], columns: [] }
      cellStart = 1
    } else {
      cell += ch
      if (ch.trim() !== '') rowHasContent = true
    }
    i += 1
    col += 1
  }
  if (quoted) throw dataFormatError(file, quoteLine, quoteCol, 'unterminated quoted cell')
  endRecord()
  return records
}

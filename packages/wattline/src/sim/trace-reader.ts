/**
 * @module sim/trace-reader
 * Streams request traces line by line and turns them into the columnar arrays the replay engine
 * reads. Three formats (docs/replay.md, "Trace formats"):
 *
 * - `azure`: Azure LLM inference CSV, header `TIMESTAMP,ContextTokens,GeneratedTokens`, timestamps
 *   `YYYY-MM-DD HH:MM:SS.fffffff` read as UTC (absolute times);
 * - `mooncake`: Mooncake JSONL, `{"timestamp": ms from trace start, "input_length", "output_length",
 *   "hash_ids": [...]}` (relative times);
 * - `jsonl`: Wattline's generic JSONL, an optional header `{"wattline_trace": 1}` then records
 *   `{"t_ms": n | "at": ISO, "input_tokens", "output_tokens", "service"?, "client"?}`.
 *
 * A malformed line is `WL_TRACE_FORMAT` naming the file and line, or with `lenient` it is skipped
 * and counted. Wire formats stop here (style §2.1-7): the rest of the simulator sees numbers.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { extname } from 'node:path'
import { seededRandom, WattlineError } from '@wattline/core'

export const TRACE_FORMATS = ['azure', 'mooncake', 'jsonl'] as const
export type TraceFormat = (typeof TRACE_FORMATS)[number]

/** One request as read from a trace. */
export interface TraceRecord {
  /** 1-based line number in the file. */
  readonly line: number
  /** Arrival: epoch ms when `relative` is false, else ms from the trace's origin. */
  readonly at: number
  /** True for offsets (Mooncake `timestamp`, generic `t_ms`), false for instants. */
  readonly relative: boolean
  readonly inputTokens: number
  readonly outputTokens: number
  /** Service name (generic JSONL only). */
  readonly service?: string
  /** Client-region name (generic JSONL only). */
  readonly client?: string
  /** Hashes of the prompt's 512-token blocks, in order (Mooncake `hash_ids`): prefix identity. */
  readonly prefixBlocks?: readonly number[]
}

export interface ReadTraceOptions {
  /** Format; detected from the extension and first line when omitted. */
  readonly format?: TraceFormat
  /** Skip malformed lines (counted through `onSkip`) instead of failing. */
  readonly lenient?: boolean
  readonly onSkip?: (line: number, reason: string) => void
}

/** True when the format's times are epoch instants (Azure, generic with `at`), not offsets. */
export type TraceTimeBase = 'absolute' | 'relative'

const AZURE_COLUMNS = ['TIMESTAMP', 'ContextTokens', 'GeneratedTokens'] as const

/** Picks the format from the extension and the first non-empty line. */
export function detectTraceFormat(path: string, firstLine: string): TraceFormat {
  const ext = extname(path).toLowerCase()
  if (ext === '.csv' || firstLine.startsWith('TIMESTAMP')) return 'azure'
  const trimmed = firstLine.trim()
  if (trimmed.startsWith('{')) {
    try {
      const first = JSON.parse(trimmed) as Record<string, unknown>
      if ('input_length' in first && 'timestamp' in first) return 'mooncake'
    } catch {
      // Not JSON: the generic reader reports the line precisely.
      return 'jsonl'
    }
  }
  return 'jsonl'
}

/** Reads `path` one line at a time, yielding requests in file order. */
export async function* readTrace(
  path: string,
  options: ReadTraceOptions = {},
): AsyncGenerator<TraceRecord, TraceReadSummary> {
  const stream = createReadStream(path, { encoding: 'utf8' })
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve())
    stream.once('error', reject)
  })
  try {
    await opened
  } catch (cause) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `cannot read trace ${path}: ${(cause as Error).message}`,
      {
        cause,
        details: { file: path },
      },
    )
  }
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  let format = options.format
  let lineNo = 0
  let skipped = 0
  let records = 0
  let columns: readonly number[] | undefined
  let headerSeen = false
  const fail = (line: number, reason: string): void => {
    if (options.lenient === true) {
      skipped++
      options.onSkip?.(line, reason)
      return
    }
    throw new WattlineError('WL_TRACE_FORMAT', `${path}:${line}: ${reason}`, {
      details: { file: path, line },
    })
  }
  try {
    for await (const raw of lines) {
      lineNo++
      const text = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw
      if (text.trim() === '') continue
      format ??= detectTraceFormat(path, text)
      if (format === 'azure' && columns === undefined) {
        columns = azureColumns(text)
        if (columns === undefined) {
          throw new WattlineError(
            'WL_TRACE_FORMAT',
            `${path}:${lineNo}: expected the header ${AZURE_COLUMNS.join(',')}, got "${text.slice(0, 80)}"`,
            { details: { file: path, line: lineNo } },
          )
        }
        continue
      }
      if (format === 'jsonl' && !headerSeen) {
        headerSeen = true
        if (isGenericHeader(text)) continue
      }
      const parsed =
        format === 'azure'
          ? parseAzureLine(text, columns as readonly number[])
          : format === 'mooncake'
            ? parseMooncakeLine(text)
            : parseGenericLine(text)
      if (typeof parsed === 'string') {
        fail(lineNo, parsed)
        continue
      }
      records++
      yield { line: lineNo, ...parsed }
    }
  } finally {
    lines.close()
    stream.destroy()
  }
  return { format: format ?? 'jsonl', lines: lineNo, records, skipped }
}

/** Totals of one pass over a trace file. */
export interface TraceReadSummary {
  readonly format: TraceFormat
  readonly lines: number
  readonly records: number
  readonly skipped: number
}

type Parsed = Omit<TraceRecord, 'line'>

function azureColumns(header: string): readonly number[] | undefined {
  const cells = header.split(',').map((c) => c.trim())
  const idx = AZURE_COLUMNS.map((name) => cells.indexOf(name))
  return idx.every((i) => i >= 0) ? idx : undefined
}

/** `2023-11-16 18:17:03.9799600` (UTC, up to 9 fraction digits) → epoch ms, or NaN. */
export function parseAzureTimestamp(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z?$/.exec(
    text.trim(),
  )
  if (m === null) return Number.NaN
  const [, y, mo, d, h, mi, s, frac] = m
  const base = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  const check = new Date(base)
  if (check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1) return Number.NaN
  return base + (frac === undefined ? 0 : Number(`0.${frac}`) * 1000)
}

function parseAzureLine(text: string, columns: readonly number[]): Parsed | string {
  const cells = text.split(',')
  const ts = cells[columns[0] as number]
  const inp = cells[columns[1] as number]
  const out = cells[columns[2] as number]
  if (ts === undefined || inp === undefined || out === undefined) {
    return `expected 3 columns (${AZURE_COLUMNS.join(',')}), got ${cells.length}`
  }
  const at = parseAzureTimestamp(ts)
  if (Number.isNaN(at))
    return `TIMESTAMP: invalid timestamp "${ts}" (expected YYYY-MM-DD HH:MM:SS.fffffff)`
  const inputTokens = tokenCount(inp)
  if (inputTokens === undefined)
    return `ContextTokens: expected a non-negative integer, got "${inp}"`
  const outputTokens = tokenCount(out)
  if (outputTokens === undefined)
    return `GeneratedTokens: expected a non-negative integer, got "${out}"`
  return { at, relative: false, inputTokens, outputTokens }
}

function tokenCount(text: string): number | undefined {
  const t = text.trim()
  if (!/^\d+$/.test(t)) return undefined
  const n = Number(t)
  return Number.isSafeInteger(n) ? n : undefined
}

function jsonObject(text: string): Record<string, unknown> | string {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'expected a JSON object'
  }
  return value as Record<string, unknown>
}

function intField(obj: Record<string, unknown>, name: string): number | string {
  const v = obj[name]
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    return `${name}: expected a non-negative integer, got ${JSON.stringify(v) ?? 'nothing'}`
  }
  return v
}

function parseMooncakeLine(text: string): Parsed | string {
  const obj = jsonObject(text)
  if (typeof obj === 'string') return obj
  const ts = obj['timestamp']
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) {
    return `timestamp: expected milliseconds ≥ 0, got ${JSON.stringify(ts) ?? 'nothing'}`
  }
  const inputTokens = intField(obj, 'input_length')
  if (typeof inputTokens === 'string') return inputTokens
  const outputTokens = intField(obj, 'output_length')
  if (typeof outputTokens === 'string') return outputTokens
  const hashes = obj['hash_ids']
  if (hashes === undefined) return { at: ts, relative: true, inputTokens, outputTokens }
  if (!Array.isArray(hashes) || !hashes.every((h) => Number.isSafeInteger(h)))
    return 'hash_ids: expected an array of integers'
  return { at: ts, relative: true, inputTokens, outputTokens, prefixBlocks: hashes as number[] }
}

function isGenericHeader(text: string): boolean {
  const obj = jsonObject(text)
  return typeof obj !== 'string' && 'wattline_trace' in obj
}

function parseGenericLine(text: string): Parsed | string {
  const obj = jsonObject(text)
  if (typeof obj === 'string') return obj
  let at: number
  let relative = false
  if (obj['t_ms'] !== undefined) {
    const t = obj['t_ms']
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
      return `t_ms: expected milliseconds ≥ 0, got ${JSON.stringify(t)}`
    }
    at = t
    relative = true
  } else if (typeof obj['at'] === 'string') {
    at = Date.parse(obj['at'])
    if (Number.isNaN(at)) return `at: invalid ISO 8601 instant "${obj['at']}"`
  } else {
    return 'expected "t_ms" (ms from the trace start) or "at" (ISO 8601 instant)'
  }
  const inputTokens = intField(obj, 'input_tokens')
  if (typeof inputTokens === 'string') return inputTokens
  const outputTokens = intField(obj, 'output_tokens')
  if (typeof outputTokens === 'string') return outputTokens
  const service = obj['service']
  if (service !== undefined && typeof service !== 'string') return 'service: expected a string'
  const client = obj['client']
  if (client !== undefined && typeof client !== 'string') return 'client: expected a string'
  return {
    at,
    relative,
    inputTokens,
    outputTokens,
    ...(service === undefined ? {} : { service }),
    ...(client === undefined ? {} : { client }),
  }
}

/** Options that shape a trace into the requests a replay sees. */
export interface LoadTraceOptions extends ReadTraceOptions {
  /** Place the first arrival at this instant (epoch ms); absolute traces keep theirs by default. */
  readonly start?: number
  /** Multiplies every inter-arrival gap (0.5 = twice the request rate). Default 1. */
  readonly timeScale?: number
  /** Replays the trace this many times back to back. Default 1. */
  readonly loop?: number
  /** Keeps each request with this probability (seeded). Default 1. */
  readonly sample?: number
  readonly seed?: number
  /** Stops after this many requests (after sampling and looping). */
  readonly limit?: number
}

/** A trace in columnar form, sorted by arrival, placed in time. */
export interface LoadedTrace {
  readonly file: string
  readonly format: TraceFormat
  readonly count: number
  /** Arrival instants, epoch ms, non-decreasing. */
  readonly arrival: Float64Array
  readonly inputTokens: Float64Array
  readonly outputTokens: Float64Array
  /** Per request: index into `serviceNames` (-1 when the trace names none). */
  readonly service: Int32Array
  readonly serviceNames: readonly string[]
  /** Per request: index into `clientNames` (-1 when the trace names none). */
  readonly client: Int32Array
  readonly clientNames: readonly string[]
  /** Lines skipped as malformed (lenient mode). */
  readonly skipped: number
  /** First few skipped lines with the reason. */
  readonly skippedLines: readonly { readonly line: number; readonly reason: string }[]
  /** Whether the file's own times were instants (Azure, `at`) or offsets (Mooncake, `t_ms`). */
  readonly timeBase: TraceTimeBase
  /**
   * Per request: its prompt's block hashes (Mooncake `hash_ids`, 512 tokens a block), when the
   * trace carries them (prefix affinity and cache hits in `replay --levers`); absent otherwise.
   */
  readonly prefixBlocks?: readonly (readonly number[] | undefined)[]
}

/**
 * Reads a whole trace (streaming) and applies sampling, time-scaling, looping and placement.
 * A relative trace (Mooncake, `t_ms`) needs `start`; without it, `WL_INVALID_INPUT`.
 */
export async function loadTrace(
  path: string,
  options: LoadTraceOptions = {},
): Promise<LoadedTrace> {
  const timeScale = options.timeScale ?? 1
  const loop = options.loop ?? 1
  const sample = options.sample ?? 1
  if (!(timeScale > 0) || !Number.isFinite(timeScale))
    throw invalid('time scale', 'a number > 0', timeScale)
  if (!Number.isInteger(loop) || loop < 1) throw invalid('loop', 'an integer ≥ 1', loop)
  if (!(sample > 0 && sample <= 1)) throw invalid('sample', 'a fraction in (0, 1]', sample)
  const random = seededRandom(options.seed ?? 1)
  const skippedLines: { line: number; reason: string }[] = []
  let skipped = 0
  const at: number[] = []
  const inp: number[] = []
  const out: number[] = []
  const svc: number[] = []
  const cli: number[] = []
  const blk: (readonly number[] | undefined)[] = []
  let anyBlocks = false
  const serviceNames: string[] = []
  const clientNames: string[] = []
  const indexOf = (names: string[], name: string | undefined): number => {
    if (name === undefined) return -1
    const i = names.indexOf(name)
    return i >= 0 ? i : names.push(name) - 1
  }
  let absolute: boolean | undefined
  const reader = readTrace(path, {
    ...options,
    onSkip: (line, reason) => {
      skipped++
      if (skippedLines.length < 10) skippedLines.push({ line, reason })
      options.onSkip?.(line, reason)
    },
  })
  let format: TraceFormat
  for (;;) {
    const step = await reader.next()
    if (step.done === true) {
      format = step.value.format
      break
    }
    const r = step.value
    const isAbsolute = !r.relative
    absolute ??= isAbsolute
    if (absolute !== isAbsolute) {
      throw new WattlineError(
        'WL_TRACE_FORMAT',
        `${path}:${r.line}: mixes "t_ms" offsets and "at" instants; use one`,
        { details: { file: path, line: r.line } },
      )
    }
    // Sampling draws once per record in file order, so a seed fixes the subset.
    if (sample < 1 && random.next() >= sample) continue
    at.push(r.at)
    inp.push(r.inputTokens)
    out.push(r.outputTokens)
    svc.push(indexOf(serviceNames, r.service))
    cli.push(indexOf(clientNames, r.client))
    blk.push(r.prefixBlocks)
    if (r.prefixBlocks !== undefined) anyBlocks = true
  }
  const timeBase: TraceTimeBase = absolute === false ? 'relative' : 'absolute'
  if (timeBase === 'relative' && options.start === undefined) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${path} has relative times (${format}); place it with a start instant (--start ISO)`,
      { details: { file: path } },
    )
  }
  // Sort by time, stable (traces are nearly always sorted already).
  const order = at.map((_, i) => i)
  if (!at.every((t, i) => i === 0 || t >= (at[i - 1] as number))) {
    order.sort((a, b) => (at[a] as number) - (at[b] as number) || a - b)
  }
  const n0 = order.length
  const first = n0 > 0 ? (at[order[0] as number] as number) : 0
  const last = n0 > 0 ? (at[order[n0 - 1] as number] as number) : 0
  const span = (last - first) * timeScale
  // Loops follow each other with one mean gap in between, so the seam looks like the trace.
  const gap = n0 > 1 ? span / (n0 - 1) : 0
  const origin = options.start ?? first
  const total = Math.min(n0 * loop, options.limit ?? Number.POSITIVE_INFINITY)
  const arrival = new Float64Array(total)
  const inputTokens = new Float64Array(total)
  const outputTokens = new Float64Array(total)
  const service = new Int32Array(total)
  const client = new Int32Array(total)
  const prefixBlocks: (readonly number[] | undefined)[] = anyBlocks ? new Array(total) : []
  let k = 0
  for (let l = 0; l < loop && k < total; l++) {
    const offset = l * (span + gap)
    for (let i = 0; i < n0 && k < total; i++, k++) {
      const src = order[i] as number
      arrival[k] = origin + offset + ((at[src] as number) - first) * timeScale
      inputTokens[k] = inp[src] as number
      outputTokens[k] = out[src] as number
      service[k] = svc[src] as number
      client[k] = cli[src] as number
      if (anyBlocks) prefixBlocks[k] = blk[src]
    }
  }
  return {
    file: path,
    format,
    count: total,
    arrival,
    inputTokens,
    outputTokens,
    service,
    serviceNames,
    client,
    clientNames,
    skipped,
    skippedLines,
    timeBase,
    ...(anyBlocks ? { prefixBlocks } : {}),
  }
}

function invalid(what: string, expected: string, got: number): WattlineError {
  return new WattlineError('WL_INVALID_INPUT', `${what}: expected ${expected}, got ${got}`, {
    details: { field: what },
  })
}

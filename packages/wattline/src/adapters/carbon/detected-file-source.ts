/**
 * @module adapters/carbon/detected-file-source
 * The `csv` source: a data file or folder whose format is detected from the first bytes of its
 * (first) data file, then read by the matching adapter — an Electricity Maps export
 * (`Zone Id`, `Carbon Intensity …`), a WattTime MOER CSV (`time,<Region>` or
 * `request_time,forecast_time,<Region>`), the generic CSV (`zone,datetime,intensity_g_per_kwh`) or
 * generic JSON. Detection runs on first use (and again after a failure), so a gateway whose file
 * is missing at start still starts and falls back; a missing path is `WL_CARBON_SOURCE_UNAVAILABLE`,
 * an unrecognised header `WL_DATA_FORMAT` (file, line 1).
 */
import { open, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  WattlineError,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
  type Signal,
} from '@wattline/core'
import { dataFormatError } from './csv.ts'
import { createElectricityMapsCsvSource } from './electricitymaps-csv-source.ts'
import { unavailable } from './http-json.ts'
import { createGenericFileSource } from './generic-file-source.ts'
import { createWattTimeCsvSource } from './watttime-csv-source.ts'

type Loaded = CarbonIntensitySource & { preload(): Promise<readonly string[]> }

export interface DetectedFileOptions {
  /** A data file or a folder of them. */
  readonly path: string
  /** Signal of generic files' rows that do not state one (the config's `carbon.signal`). */
  readonly signal?: Signal
  /**
   * When true, data whose signal is fixed by its format (Electricity Maps: average, WattTime MOER:
   * marginal) and differs from `signal` is refused (`WL_CONFIG_INVALID`) rather than mixed in: the
   * gateway's chain answers in one signal.
   */
  readonly requireSignal?: boolean
}

/** A file source of the format found at `path`; `name` is `csv:<path>`. */
export function createDetectedFileSource(options: DetectedFileOptions): Loaded {
  const name = `csv:${options.path}`
  let inner: Promise<Loaded> | undefined
  let known: Loaded | undefined
  const get = (): Promise<Loaded> => {
    inner ??= detect(options, name).then(
      (s) => (known = s),
      (error: unknown) => {
        inner = undefined
        throw error
      },
    )
    return inner
  }
  return {
    name,
    get signal(): Signal {
      return known?.signal ?? options.signal ?? 'average'
    },
    async intensityAt(zone: string, at: Instant): Promise<IntensityPoint> {
      return (await get()).intensityAt(zone, at)
    },
    async series(zone: string, from: Instant, to: Instant): Promise<readonly IntensityPoint[]> {
      return (await get()).series(zone, from, to)
    },
    zones: () => known?.zones?.() ?? [],
    async preload(): Promise<readonly string[]> {
      return (await get()).preload()
    },
  }
}

async function detect(options: DetectedFileOptions, name: string): Promise<Loaded> {
  const { path } = options
  const info = await stat(path).catch((cause: unknown) => {
    throw unavailable(name, `cannot read ${path}: ${(cause as Error).message}`, cause, { path })
  })
  const sample = info.isDirectory() ? await firstDataFile(path, name) : path
  const head = await readHead(sample)
  const firstLine =
    head
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)[0]
      ?.toLowerCase() ?? ''
  if (/^\s*[[{]/.test(head))
    return createGenericFileSource({ path, format: 'json', ...signalOf(options) })
  if (firstLine.includes('zone id') && firstLine.includes('carbon intensity'))
    return checked(createElectricityMapsCsvSource({ path }), 'an Electricity Maps export', options)
  if (firstLine.startsWith('request_time,') || /^time,[^,]+$/.test(firstLine.trim()))
    return checked(createWattTimeCsvSource({ path }), 'WattTime MOER data', options)
  if (firstLine.includes('intensity_g_per_kwh'))
    return createGenericFileSource({ path, format: 'csv', ...signalOf(options) })
  throw dataFormatError(
    sample,
    1,
    1,
    'unrecognised intensity file: expected an Electricity Maps export, a WattTime MOER CSV, or a CSV/JSON with zone, datetime, intensity_g_per_kwh',
  )
}

function checked(source: Loaded, what: string, options: DetectedFileOptions): Loaded {
  if (
    options.requireSignal === true &&
    options.signal !== undefined &&
    source.signal !== options.signal
  )
    throw new WattlineError(
      'WL_CONFIG_INVALID',
      `csv:${options.path} holds ${what} (${source.signal} intensity) but carbon.signal is ${options.signal}`,
      { details: { path: options.path, signal: source.signal, expected: options.signal } },
    )
  return source
}

const signalOf = (o: DetectedFileOptions): { signal?: Signal } =>
  o.signal === undefined ? {} : { signal: o.signal }

async function firstDataFile(dir: string, name: string): Promise<string> {
  const entries = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile() && /\.(csv|json)$/i.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort()
  const first = entries[0]
  if (first === undefined)
    throw unavailable(name, `no .csv or .json files in ${dir}`, undefined, { path: dir })
  return first
}

async function readHead(path: string): Promise<string> {
  const handle = await open(path, 'r')
  try {
    const buffer = Buffer.alloc(4096)
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
    return buffer.subarray(0, bytesRead).toString('utf8')
  } finally {
    await handle.close()
  }
}

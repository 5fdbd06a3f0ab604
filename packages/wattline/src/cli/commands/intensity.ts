/**
 * @module cli/commands/intensity
 * `wattline intensity (--zone Z | --region R) [--at ISO | --from ISO --to ISO] [--source NAME|FILE]
 * [--config wattline.yaml] [--json]`: grid carbon intensity at an instant, or over a window with
 * its mean and greenest hour.
 *
 * Without `--config`, `--source` is a carbon source spec opened by `openCarbonSource` exactly as
 * `replay --carbon` opens it (`builtin` by default; `static:FR=50`, `csv:PATH` or a bare data file or
 * folder, `electricitymaps`, `watttime`, `uk-carbon-intensity`, `carbon-aware-sdk:URL`…): that
 * source's own answer, no cache or fallback. With `--config`, the lookup goes through the configured
 * `carbon:` section exactly as the gateway's does (its sources in order, cache, stale window, the
 * static table last; fallback values say so in `stale` and `provenance`), and `--source KIND`
 * narrows it to the configured sources of that type (e.g. `electricitymaps`, `csv`).
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import {
  buildSeries,
  greenestWindow,
  instant,
  meanOver,
  ms,
  resolveRegion,
  seriesCoverage,
  type CarbonIntensitySource,
  type Instant,
  type IntensityPoint,
} from '@wattline/core'
import { CARBON_SPEC_KINDS, CARBON_SPEC_SYNTAX } from '../../adapters/carbon/carbon-spec.ts'
import { openCarbonSource } from '../../adapters/carbon/open-carbon-source.ts'
import { createSystemClock } from '../../adapters/clock/system-clock.ts'
import { createConfigCatalog } from '../../config/catalog.ts'
import { loadConfig } from '../../config/load-config.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { parseIsoFlag } from '../iso-flag.ts'
import { writeJson, type CliIo } from '../io.ts'

interface IntensityOptions {
  zone?: string
  region?: string
  at?: string
  from?: string
  to?: string
  source?: string
  config?: string
  json?: boolean
}

const HOUR = 3_600_000
/** Longest window `--from/--to` accepts (a year and a day). */
const MAX_WINDOW_MS = 366 * 24 * HOUR

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('intensity')
    .description(
      'Grid carbon intensity (gCO2e/kWh) for a zone or cloud region, at an instant or over a window',
    )
    .option('--zone <zone>', 'Electricity Maps zone id, e.g. DE, GB, US-CAL-CISO')
    .option(
      '--region <region>',
      'cloud region, e.g. aws:eu-central-1, gcp:europe-west4, azure:westeurope',
    )
    .option('--at <iso>', 'instant (ISO 8601; default: now)')
    .option('--from <iso>', 'window start (ISO 8601), with --to')
    .option('--to <iso>', 'window end (ISO 8601, exclusive), with --from')
    .option(
      '--source <spec>',
      `carbon source spec (${CARBON_SPEC_SYNTAX}; default builtin), or a data file or folder; with --config, a bare kind narrows to the configured sources of that type`,
    )
    .option(
      '--config <file>',
      "wattline.yaml: look up through its carbon sources (the gateway's chain)",
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: IntensityOptions) => {
      setExit(await runIntensity(opts, io))
    })
}

async function runIntensity(opts: IntensityOptions, io: CliIo): Promise<ExitCode> {
  if ((opts.zone === undefined) === (opts.region === undefined)) {
    throw new ExitError(EXIT.badInput, 'give exactly one of --zone or --region')
  }
  const range = opts.from !== undefined || opts.to !== undefined
  if (range && (opts.from === undefined || opts.to === undefined)) {
    throw new ExitError(EXIT.badInput, '--from and --to go together')
  }
  if (range && opts.at !== undefined)
    throw new ExitError(EXIT.badInput, 'give --at or --from/--to, not both')
  const region = opts.region === undefined ? undefined : resolveRegion(opts.region)
  const zone = region?.zone ?? (opts.zone as string)
  const source =
    opts.config === undefined
      ? openSpec(opts.source ?? 'builtin', io)
      : await openConfiguredSource(opts.config, opts.source, io)
  const regionFields =
    region === undefined
      ? {}
      : { region: `${region.provider}:${region.region}`, region_source: region.source }

  if (!range) {
    const at = opts.at === undefined ? createSystemClock().now() : parseIsoFlag('--at', opts.at)
    const p = await source.intensityAt(zone, at)
    const row = { ...pointJson(p), ...regionFields }
    if (opts.json === true) writeJson(io, row)
    else {
      io.stdout.write(
        `${p.zone} ${new Date(p.at).toISOString()}  ${p.intensity.toFixed(1)} gCO2e/kWh  (${p.signal}${p.forecast ? ', forecast' : ''}${p.stale ? ', stale' : ''})\n  source: ${p.source}\n`,
      )
    }
    return EXIT.ok
  }

  const from = parseIsoFlag('--from', opts.from as string)
  const to = parseIsoFlag('--to', opts.to as string)
  if (to <= from) throw new ExitError(EXIT.badInput, '--to must be after --from')
  if (to - from > MAX_WINDOW_MS)
    throw new ExitError(EXIT.badInput, 'the window is longer than 366 days')
  const points = await source.series(zone, from, to)
  const summary = summarise(points, from, to)
  const canonical = points[0]?.zone ?? zone
  if (opts.json === true) {
    writeJson(io, {
      zone: canonical,
      ...regionFields,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      signal: points[0]?.signal ?? source.signal,
      interpolation: 'step',
      points: points.map(pointJson),
      ...summary,
    })
  } else {
    io.stdout.write(renderRange(canonical, points, summary))
  }
  return EXIT.ok
}

interface RangeSummary {
  readonly covered_from: string | null
  readonly covered_to: string | null
  readonly mean_g_per_kwh: number | null
  readonly greenest_hour: {
    start: string
    end: string
    intensity_g_per_kwh: number
    forecast: boolean
  } | null
}

/** Mean over the covered part of the window and the greenest one-hour window in it. */
function summarise(points: readonly IntensityPoint[], from: Instant, to: Instant): RangeSummary {
  if (points.length === 0)
    return { covered_from: null, covered_to: null, mean_g_per_kwh: null, greenest_hour: null }
  const series = buildSeries(points)
  const cov = seriesCoverage(series)
  const start = instant(Math.max(from, cov.from))
  const end = instant(Math.min(to, cov.to))
  const mean = meanOver(series, start, end)
  const best = greenestWindow(series, { duration: ms(HOUR), earliest: start, deadline: end })
  return {
    covered_from: new Date(start).toISOString(),
    covered_to: new Date(end).toISOString(),
    mean_g_per_kwh: mean === undefined ? null : round(mean.intensity),
    greenest_hour:
      best === undefined
        ? null
        : {
            start: new Date(best.start).toISOString(),
            end: new Date(best.end).toISOString(),
            intensity_g_per_kwh: round(best.intensity),
            forecast: best.forecast,
          },
  }
}

function pointJson(p: IntensityPoint): Record<string, unknown> {
  return {
    zone: p.zone,
    at: new Date(p.at).toISOString(),
    intensity_g_per_kwh: round(p.intensity),
    signal: p.signal,
    source: p.source,
    stale: p.stale,
    forecast: p.forecast,
    provenance: p.provenance ?? 'live',
  }
}

function renderRange(zone: string, points: readonly IntensityPoint[], s: RangeSummary): string {
  const lines = points.map(
    (p) =>
      `  ${new Date(p.at).toISOString()}  ${p.intensity.toFixed(1).padStart(7)}${p.forecast ? '  forecast' : ''}${p.stale ? '  stale' : ''}`,
  )
  const g = s.greenest_hour
  return [
    `${zone}: ${points.length} points, gCO2e/kWh (${points[0]?.signal ?? 'average'}; source: ${points[0]?.source ?? '-'})`,
    ...lines,
    `mean ${s.mean_g_per_kwh === null ? '-' : s.mean_g_per_kwh.toFixed(1)} gCO2e/kWh over ${s.covered_from ?? '-'} → ${s.covered_to ?? '-'}`,
    `greenest hour: ${g === null ? '-' : `${g.start} → ${g.end} at ${g.intensity_g_per_kwh.toFixed(1)} gCO2e/kWh`}`,
    '',
  ].join('\n')
}

/**
 * The configured carbon sources of `configPath` (all of them, or with `name` a bare kind, those of
 * that type) behind the gateway's caching/fallback chain; any other `name` is a spec of its own.
 */
async function openConfiguredSource(
  configPath: string,
  name: string | undefined,
  io: CliIo,
): Promise<CarbonIntensitySource> {
  const path = resolve(io.cwd, configPath)
  const config = await loadConfig(path, { readFile, env: io.env, catalog: createConfigCatalog() })
  const configured = config.carbon.sources
  let sources = [...configured]
  if (name !== undefined) {
    if (!(CARBON_SPEC_KINDS as readonly string[]).includes(name)) return openSpec(name, io)
    sources = configured.filter((s) => s.type === name)
    if (sources.length === 0) {
      const types = [...new Set(configured.map((s) => s.type))]
      throw new ExitError(
        EXIT.badInput,
        `--source "${name}" is not a source type configured in ${configPath} (carbon.sources: ${types.join(', ') || 'none'}); give a spec with its argument (e.g. csv:PATH) or drop --config`,
      )
    }
  }
  return openCarbonSource(
    { ...config.carbon, sources },
    {
      mode: 'live',
      clock: createSystemClock(),
      env: io.env,
      baseDir: dirname(path),
      flag: '--source',
      onWarning: (w) => io.stderr.write(`warning: ${w.code}: ${w.message}\n`),
    },
  )
}

/** A `--source` spec opened as given (no cache, no silent fallback): what that source says. */
function openSpec(spec: string, io: CliIo): CarbonIntensitySource {
  return openCarbonSource(spec, {
    mode: 'direct',
    clock: createSystemClock(),
    env: io.env,
    baseDir: io.cwd,
    flag: '--source',
  })
}

function round(x: number): number {
  return Math.round(x * 10) / 10
}

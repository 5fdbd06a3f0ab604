/**
 * @module cli/commands/advise
 * `wattline advise --workload <trace|summary> [--model M] [--slo-p95-ms N] [--zones Z,…]
 * [--config wattline.yaml] [--json] [--html FILE]`: ranks deployable configurations (model variant ×
 * precision × hardware × batch cap × replicas) for a workload's request mix by energy per 1,000
 * requests and carbon, with intervals, and compares the best with the deployment in the config.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import type { Command } from 'commander'
import { parse as parseYaml } from 'yaml'
import {
  ADVISE_PLACEMENTS,
  advise,
  findModel,
  FITTED_PROFILE_TABLE,
  mixFromSummary,
  mixFromTrace,
  typicalZoneDay,
  WattlineError,
  type AdvisePlacement,
  type CurrentDeployment,
  type WorkloadMix,
  type ZoneDay,
} from '@wattline/core'
import { createConfigCatalog } from '../../config/catalog.ts'
import { loadConfig } from '../../config/load-config.ts'
import type { WattlineConfig } from '../../config/parse-config.ts'
import { loadTrace } from '../../sim/trace-reader.ts'
import {
  buildAdviseReport,
  renderAdviseHtml,
  renderAdviseText,
} from '../../advise/advise-report.ts'
import { readInputText, readUtf8 } from '../../input/read-input-text.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { writeJson, type CliIo } from '../io.ts'

interface AdviseOptions {
  workload: string
  model?: string
  variants?: string
  hardware?: string
  precision?: string
  placement?: string
  sloP95Ms?: number
  zones?: string
  config?: string
  pue?: number
  json?: boolean
  html?: string
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('advise')
    .description(
      'Rank model variant × precision × hardware × batch × replicas for a workload by energy and carbon per 1,000 requests',
    )
    .requiredOption(
      '--workload <file>',
      'request trace (Azure CSV, Mooncake or Wattline JSONL) or a summary (.yaml/.json: input_tokens, output_tokens, requests_per_s or requests_per_s_by_hour)',
    )
    .option('--model <id>', "model to serve (default: the config's first backend's first model)")
    .option(
      '--variants <ids>',
      'other models the workload may use, comma-separated (e.g. a smaller one)',
    )
    .option(
      '--hardware <ids>',
      'only these hardware ids, comma-separated (unmeasured ones are extrapolated)',
    )
    .option('--precision <ps>', 'only these precisions, comma-separated (e.g. bf16,fp8)')
    .option(
      '--placement <where>',
      'cloud, edge or cloud,edge (default cloud; edge: Jetson-class modules, one request at a time, no PUE)',
    )
    .option('--slo-p95-ms <n>', 'p95 end-to-end latency objective, ms', positive('--slo-p95-ms'))
    .option(
      '--zones <zones>',
      'grid zones to compare carbon in, comma-separated (e.g. DE,FR,US-CAL-CISO)',
    )
    .option('--config <file>', 'wattline.yaml: the current deployment to compare with, and its PUE')
    .option(
      '--pue <x>',
      "power usage effectiveness (default: the current backend's, else 1)",
      positive('--pue'),
    )
    .option('--json', 'machine-readable output on stdout')
    .option('--html <file>', 'write an HTML page with the energy-vs-latency frontier chart')
    .action(async (opts: AdviseOptions) => {
      const { report, all } = await runAdvise(opts, io.cwd)
      if (opts.html !== undefined) {
        await writeFile(resolve(io.cwd, opts.html), renderAdviseHtml(report, all))
      }
      if (opts.json === true) writeJson(io, report)
      else io.stdout.write(renderAdviseText(report))
      setExit(EXIT.ok)
    })
}

/** Computes the report for parsed options; throws typed errors for bad input. */
export async function runAdvise(opts: AdviseOptions, cwd: string) {
  const config =
    opts.config === undefined
      ? undefined
      : await loadConfig(resolve(cwd, opts.config), {
          readFile: (p, enc) => readFile(p, enc),
          env: {},
          catalog: createConfigCatalog(),
        })
  const model = opts.model ?? firstModel(config)
  if (model === undefined) throw invalid('give --model, or --config with a backend serving one')
  const mix = await readWorkload(resolve(cwd, opts.workload), opts.workload)
  const current =
    config === undefined ? undefined : currentDeployment(config, model, opts.config ?? '')
  const zoneIds = list(opts.zones) ?? (current === undefined ? [] : [current.deployment.zone])
  const zones: ZoneDay[] = zoneIds.map((z) => typicalZoneDay(z))
  const pue = opts.pue ?? current?.pue ?? 1
  const result = advise({
    mix,
    models: [model, ...(list(opts.variants) ?? [])],
    ...(opts.hardware === undefined ? {} : { hardware: list(opts.hardware) ?? [] }),
    ...(opts.precision === undefined ? {} : { precisions: list(opts.precision) ?? [] }),
    ...(opts.placement === undefined ? {} : { placements: placements(opts.placement) }),
    ...(opts.sloP95Ms === undefined ? {} : { sloP95Ms: opts.sloP95Ms }),
    zones,
    pue,
    ...(current === undefined
      ? {}
      : { current: current.deployment, currentZone: typicalZoneDay(current.deployment.zone) }),
  })
  const allZones =
    current === undefined || zones.some((z) => z.zone === current.deployment.zone)
      ? zones
      : [...zones, typicalZoneDay(current.deployment.zone)]
  return {
    report: buildAdviseReport(
      result,
      mix,
      allZones,
      opts.sloP95Ms,
      pue,
      FITTED_PROFILE_TABLE.source,
      config === undefined
        ? 'no --config given (pass wattline.yaml to compare with the current deployment)'
        : `${opts.config ?? ''} has no backend serving ${model}`,
    ),
    all: result.allOptions,
  }
}

async function readWorkload(path: string, shown: string): Promise<WorkloadMix> {
  const ext = extname(path).toLowerCase()
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') {
    const text = await readInputText(path, 'workload', readUtf8, shown)
    let parsed: unknown
    try {
      parsed = parseYaml(text)
    } catch (cause) {
      throw new WattlineError(
        'WL_INVALID_INPUT',
        `${shown}: not valid YAML/JSON: ${(cause as Error).message}`,
        {
          cause,
          details: { file: shown },
        },
      )
    }
    const looksLikeSummary =
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      'output_tokens' in parsed
    if (ext !== '.json' || looksLikeSummary) return mixFromSummary(parsed, shown)
  }
  // Offsets (Mooncake, t_ms) are placed at midnight UTC: hour of day = hour since the trace began.
  const trace = await loadTrace(path, { start: 0 })
  return mixFromTrace(
    trace.arrival,
    trace.inputTokens,
    trace.outputTokens,
    `trace ${shown} (${trace.count} requests, ${trace.format})`,
  )
}

function firstModel(config: WattlineConfig | undefined): string | undefined {
  const b = config?.backends[0]
  if (b === undefined) return undefined
  const m = b.models[0]
  return m === undefined ? undefined : (b.canonical_models[m] ?? m)
}

function currentDeployment(
  config: WattlineConfig,
  model: string,
  file: string,
): { deployment: CurrentDeployment; pue: number } | undefined {
  // Aliases count: `llama-3.1-8b` on the command line matches `llama-3.1-8b-instruct` in the config.
  const canonical = (name: string): string => (findModel(name)?.id ?? name).toLowerCase()
  const wanted = canonical(model)
  const serves = (b: WattlineConfig['backends'][number], m: string): boolean =>
    canonical(m) === wanted || canonical(b.canonical_models[m] ?? m) === wanted
  const serving = config.backends.filter((b) => b.models.some((m) => serves(b, m)))
  const first = serving[0]
  if (first === undefined) return undefined
  const served = first.models.find((m) => serves(first, m))
  return {
    deployment: {
      model: (served === undefined ? undefined : first.canonical_models[served]) ?? model,
      hardware: first.hardware,
      precision: first.precision,
      batchCap: first.max_concurrency,
      replicas: serving.filter(
        (b) => b.hardware === first.hardware && b.precision === first.precision,
      ).length,
      zone: first.zone,
      placement: first.placement,
      source: `${file} backend${serving.length > 1 ? 's' : ''} ${serving.map((b) => b.id).join(', ')} (${first.hardware}, ${first.placement}, ${first.precision}, max_concurrency ${first.max_concurrency})`,
    },
    pue: first.pue,
  }
}

function placements(v: string): AdvisePlacement[] {
  const items = list(v) ?? []
  const bad = items.filter((p) => !(ADVISE_PLACEMENTS as readonly string[]).includes(p))
  if (items.length === 0 || bad.length > 0) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `--placement: unknown placement "${bad[0] ?? v}" (known: ${ADVISE_PLACEMENTS.join(', ')})`,
      { details: { field: 'placement', allowed: ADVISE_PLACEMENTS } },
    )
  }
  return items as AdvisePlacement[]
}

function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  return items.length === 0 ? undefined : items
}

function positive(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw invalid(`${flag} must be a positive number, got "${v}"`)
    return n
  }
}

function invalid(message: string): WattlineError {
  return new WattlineError('WL_INVALID_INPUT', message)
}

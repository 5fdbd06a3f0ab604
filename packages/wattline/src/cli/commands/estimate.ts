/**
 * @module cli/commands/estimate
 * `wattline estimate`: energy (and, with a zone or region, carbon) of one request for a model on
 * a hardware at a running batch, with interval, method and source.
 */
import type { Command } from 'commander'
import {
  carbonOf,
  estimateRequest,
  instant,
  PRECISIONS,
  resolveProfile,
  resolveRegion,
  WattlineError,
  type CarbonIntensitySource,
  type Estimate,
  type EnergyProfile,
  type IntensityPoint,
  type Joules,
  type Precision,
} from '@wattline/core'
import { createBuiltinSource } from '../../adapters/carbon/builtin-source.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { parseIsoFlag } from '../iso-flag.ts'
import { writeJson, type CliIo } from '../io.ts'

interface EstimateOptions {
  model: string
  hardware: string
  precision?: string
  batch: number
  inputTokens: number
  outputTokens: number
  zone?: string
  region?: string
  at?: string
  pue: number
  activeParamsB?: number
  gpus?: number
  json?: boolean
}

/** Dependencies the command reads; tests pass a fixed clock and a fake source. */
export interface EstimateDeps {
  readonly now: () => number
  readonly carbonSource: () => CarbonIntensitySource
}

const DEFAULT_DEPS: EstimateDeps = {
  now: () => Date.now(),
  carbonSource: createBuiltinSource,
}

/** The JSON the command prints with `--json`. */
export interface EstimateReport {
  readonly energy_j: Interval
  readonly carbon_g: Interval | null
  readonly method: 'modelled'
  readonly source: string
  readonly model: string
  readonly hardware: string
  readonly precision: Precision
  readonly batch: number
  readonly gpus: number
  readonly profile_basis: 'fitted' | 'parametric'
  readonly input_tokens: number
  readonly output_tokens: number
  readonly pue: number
  readonly zone: string | null
  readonly region: string | null
  readonly at: string | null
  readonly intensity_g_per_kwh: number | null
  readonly intensity_source: string | null
}

interface Interval {
  readonly value: number
  readonly low: number
  readonly high: number
}

export function register(
  program: Command,
  io: CliIo,
  setExit: (code: ExitCode) => void,
  deps: EstimateDeps = DEFAULT_DEPS,
): void {
  program
    .command('estimate')
    .description(
      'Energy (J) and carbon (gCO2e) of one request for a model on a hardware, with interval and source',
    )
    .requiredOption('--model <id>', 'Hugging Face id or alias, e.g. llama-3.1-8b-instruct')
    .requiredOption('--hardware <id>', 'hardware catalogue id or alias, e.g. H100-SXM, A100-80GB')
    .option('--precision <p>', `weight precision: ${PRECISIONS.join('|')} (default: checkpoint's)`)
    .option(
      '--batch <n>',
      'running batch the request shares, sequences',
      positiveNumber('--batch'),
      1,
    )
    .requiredOption('--input-tokens <n>', 'prompt tokens', count('--input-tokens'))
    .requiredOption('--output-tokens <n>', 'generated tokens', count('--output-tokens'))
    .option('--zone <zone>', 'grid zone for carbon (Electricity Maps id, e.g. DE, US-CAL-CISO)')
    .option('--region <region>', 'cloud region for carbon, e.g. aws:eu-central-1')
    .option('--at <iso>', 'time of the request for the intensity lookup (default: now)')
    .option('--pue <x>', 'power usage effectiveness of the site (≥ 1)', positiveNumber('--pue'), 1)
    .option(
      '--active-params-b <n>',
      'active parameters in billions (estimates an uncatalogued model)',
      positiveNumber('--active-params-b'),
    )
    .option(
      '--gpus <n>',
      'GPUs of one replica (default: measured, else fewest that fit)',
      count('--gpus'),
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: EstimateOptions) => {
      const report = await runEstimate(opts, deps)
      if (opts.json === true) writeJson(io, report)
      else io.stdout.write(renderHuman(report))
      setExit(EXIT.ok)
    })
}

/** Computes the report for parsed options; throws typed errors for bad input. */
export async function runEstimate(
  opts: EstimateOptions,
  deps: EstimateDeps,
): Promise<EstimateReport> {
  if (opts.zone !== undefined && opts.region !== undefined) {
    throw invalid('give either --zone or --region, not both')
  }
  const precision = parsePrecision(opts.precision)
  const profile: EnergyProfile = resolveProfile({
    model: opts.model,
    hardware: opts.hardware,
    ...(precision === undefined ? {} : { precision }),
    ...(opts.activeParamsB === undefined ? {} : { activeParamsB: opts.activeParamsB }),
    ...(opts.gpus === undefined ? {} : { gpus: opts.gpus }),
  })
  const energy = estimateRequest(profile, {
    inputTokens: opts.inputTokens,
    outputTokens: opts.outputTokens,
    batch: opts.batch,
    pue: opts.pue,
  })
  const zone = opts.region !== undefined ? resolveRegion(opts.region).zone : opts.zone
  let point: IntensityPoint | undefined
  let atIso: string | null = null
  if (zone !== undefined) {
    const atMs = opts.at === undefined ? deps.now() : parseIsoFlag('--at', opts.at)
    atIso = new Date(atMs).toISOString()
    point = await deps.carbonSource().intensityAt(zone, instant(atMs))
  } else if (opts.at !== undefined) {
    throw invalid('--at needs --zone or --region')
  }
  return {
    energy_j: interval(energy),
    carbon_g: point === undefined ? null : carbonInterval(energy, point),
    method: 'modelled',
    source: energy.source,
    model: profile.model,
    hardware: profile.hardware,
    precision: profile.precision,
    batch: Math.min(opts.batch, profile.maxBatch),
    gpus: profile.gpus,
    profile_basis: profile.basis,
    input_tokens: opts.inputTokens,
    output_tokens: opts.outputTokens,
    pue: opts.pue,
    zone: point?.zone ?? null,
    region: opts.region ?? null,
    at: atIso,
    intensity_g_per_kwh: point === undefined ? null : point.intensity,
    intensity_source: point === undefined ? null : point.source,
  }
}

/** The short table shown without `--json`. */
export function renderHuman(r: EstimateReport): string {
  const fmt = (i: Interval, unit: string): string =>
    `${sig(i.value)} ${unit}  (${sig(i.low)} – ${sig(i.high)})`
  const rows: [string, string][] = [
    ['model', r.model],
    ['hardware', `${r.gpus} × ${r.hardware}, ${r.precision}`],
    ['request', `${r.input_tokens} input + ${r.output_tokens} output tokens at batch ${r.batch}`],
    ['energy', `${fmt(r.energy_j, 'J')}  = ${sig(r.energy_j.value / 3600)} Wh`],
  ]
  if (r.carbon_g !== null) {
    rows.push(['carbon', fmt(r.carbon_g, 'gCO2e')])
    rows.push([
      'intensity',
      `${sig(r.intensity_g_per_kwh ?? 0)} gCO2e/kWh in ${r.zone ?? ''} at ${r.at ?? ''} (${r.intensity_source ?? ''})`,
    ])
  } else {
    rows.push(['carbon', 'not computed (pass --zone or --region)'])
  }
  rows.push([
    'PUE',
    r.pue === 1 ? '1 (IT energy only; pass --pue for facility energy)' : String(r.pue),
  ])
  rows.push(['method', `${r.method}, ${r.profile_basis} profile`])
  rows.push(['source', r.source])
  const width = Math.max(...rows.map(([k]) => k.length))
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`
}

function interval(e: Estimate<Joules>): Interval {
  return { value: e.value, low: e.low, high: e.high }
}

function carbonInterval(e: Estimate<Joules>, p: IntensityPoint): Interval {
  return {
    value: carbonOf(e.value, p.intensity),
    low: carbonOf(e.low, p.intensity),
    high: carbonOf(e.high, p.intensity),
  }
}

function parsePrecision(p: string | undefined): Precision | undefined {
  if (p === undefined) return undefined
  const lower = p.toLowerCase()
  const found = PRECISIONS.find((x) => x === lower)
  if (found === undefined)
    throw invalid(`--precision must be one of ${PRECISIONS.join(', ')}, got "${p}"`)
  return found
}

function positiveNumber(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw invalid(`${flag} must be a positive number, got "${v}"`)
    return n
  }
}

function count(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v)
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) {
      throw invalid(`${flag} must be a non-negative integer, got "${v}"`)
    }
    return n
  }
}

function invalid(message: string): WattlineError {
  return new WattlineError('WL_INVALID_INPUT', message)
}

function sig(v: number): string {
  if (v === 0) return '0'
  const a = Math.abs(v)
  if (a >= 1000) return v.toFixed(0)
  return Number(v.toPrecision(3)).toString()
}

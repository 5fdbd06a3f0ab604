/**
 * @module cli/commands/bench
 * `wattline bench --target URL --model M --workload F [--requests N] [--concurrency C]
 * [--repeat K] [--meter model|nvidia-smi|prometheus:URL] --out result.json`: drives a workload
 * sampled deterministically from a trace against a candidate endpoint, meters its energy, repeats
 * K times for a 95 % confidence interval and writes `wattline-bench-result/1` (docs/budgets.md).
 */
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, resolve } from 'node:path'
import { SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import {
  carbonOf,
  gramsPerKwh,
  estimateRequest,
  instant,
  joules,
  JOULES_PER_WH,
  meanInterval,
  resolveProfile,
  type EnergyProfile,
  type Method,
} from '@wattline/core'
import { createBuiltinSource } from '../../adapters/carbon/builtin-source.ts'
import {
  BENCH_RESULT_SCHEMA,
  benchResultSchema,
  type BenchResult,
  type BenchRun,
  type Figure,
} from '../../benchmark/bench-result.ts'
import {
  createNvidiaSmiMeter,
  createPrometheusMeter,
  type BenchMeter,
} from '../../benchmark/bench-meters.ts'
import { runWorkload, sampleWorkload, type RequestOutcome } from '../../benchmark/run-workload.ts'
import { loadTrace } from '../../sim/trace-reader.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { writeJson, type CliIo } from '../io.ts'

interface BenchOptions {
  target: string
  model: string
  workload: string
  requests: string
  concurrency: string
  repeat: string
  meter: string
  hardware?: string
  precision?: string
  zone?: string
  seed: string
  release?: string
  timeoutMs: string
  out: string
  json?: boolean
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('bench')
    .description("Measure a candidate endpoint's energy on a workload sampled from a trace")
    .requiredOption('--target <url>', 'OpenAI-compatible base URL, including /v1')
    .requiredOption(
      '--model <id>',
      'model name sent to the target (and profile id for --meter model)',
    )
    .requiredOption('--workload <file>', 'trace: Azure CSV, Mooncake JSONL or generic JSONL')
    .option('--requests <n>', 'requests per repeat', '200')
    .option('--concurrency <n>', 'requests in flight', '8')
    .option('--repeat <k>', 'repeats, for the confidence interval', '3')
    .option('--meter <kind>', 'model | nvidia-smi | prometheus:URL', 'model')
    .option('--hardware <id>', 'hardware of the target (required by --meter model)')
    .option('--precision <p>', 'bf16 | fp8 | fp16 | int8 (--meter model)')
    .option('--zone <zone>', 'grid zone, for the carbon metric (built-in intensity)')
    .option('--seed <n>', 'sampling seed', '1')
    .option('--release <id>', 'release id recorded in the result')
    .option('--timeout-ms <ms>', 'per-request timeout', '600000')
    .requiredOption('--out <file>', 'result file (JSON)')
    .option('--json', 'print the result to stdout too')
    .action(async (opts: BenchOptions) => {
      const result = await runBench(opts, io)
      await writeFile(resolve(io.cwd, opts.out), `${JSON.stringify(result, null, 2)}\n`)
      if (opts.json === true) writeJson(io, result)
      else io.stdout.write(renderBench(result, opts.out))
      setExit(EXIT.ok)
    })
}

function intFlag(text: string, flag: string, min: number, max: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ExitError(
      EXIT.badInput,
      `${flag} must be an integer in [${min}, ${max}], got ${JSON.stringify(text)}`,
    )
  }
  return n
}

async function runBench(opts: BenchOptions, io: CliIo): Promise<BenchResult> {
  const requests = intFlag(opts.requests, '--requests', 1, 1_000_000)
  const concurrency = intFlag(opts.concurrency, '--concurrency', 1, 4096)
  const repeat = intFlag(opts.repeat, '--repeat', 1, 100)
  const seed = intFlag(opts.seed, '--seed', 0, 2 ** 31 - 1)
  const timeoutMs = intFlag(opts.timeoutMs, '--timeout-ms', 1, 86_400_000)
  try {
    new URL(opts.target)
  } catch {
    throw new ExitError(
      EXIT.badInput,
      `--target must be a URL such as http://127.0.0.1:8000/v1, got ${JSON.stringify(opts.target)}`,
    )
  }
  const meterKind =
    opts.meter === 'model' || opts.meter === 'nvidia-smi'
      ? opts.meter
      : opts.meter.startsWith('prometheus:')
        ? 'prometheus'
        : null
  if (meterKind === null) {
    throw new ExitError(
      EXIT.badInput,
      `--meter must be model, nvidia-smi or prometheus:URL, got ${JSON.stringify(opts.meter)}`,
    )
  }
  let profile: EnergyProfile | null = null
  if (meterKind === 'model') {
    if (opts.hardware === undefined)
      throw new ExitError(EXIT.badInput, '--meter model needs --hardware (e.g. H100-SXM)')
    profile = resolveProfile({
      model: opts.model,
      hardware: opts.hardware,
      ...(opts.precision === undefined ? {} : { precision: opts.precision as never }),
    })
  }
  const path = resolve(io.cwd, opts.workload)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new ExitError(
      EXIT.badInput,
      `cannot read workload ${opts.workload}: ${(error as Error).message}`,
    )
  }
  const trace = await loadTrace(path, { start: 0, seed })
  if (trace.count === 0)
    throw new ExitError(EXIT.badInput, `${opts.workload}: the trace holds no requests`)
  const workload = sampleWorkload(trace, requests, seed)
  const intensity =
    opts.zone === undefined
      ? null
      : await createBuiltinSource().intensityAt(opts.zone, instant(Date.now()))
  const meterSource = (): BenchMeter | null =>
    meterKind === 'nvidia-smi'
      ? createNvidiaSmiMeter({ env: { ...process.env, ...io.env } })
      : meterKind === 'prometheus'
        ? createPrometheusMeter(opts.meter.slice('prometheus:'.length))
        : null

  const bar =
    io.stderr.isTTY === true
      ? new SingleBar({
          format: 'bench {run} [{bar}] {value}/{total} requests | {eta}s left',
          stream: process.stderr,
        })
      : null
  const startedAt = new Date().toISOString()
  const runs: BenchRun[] = []
  let meterLabel = profile === null ? '' : `profile ${profile.source}`
  for (let k = 0; k < repeat; k += 1) {
    bar?.start(workload.length, 0, { run: `${k + 1}/${repeat}` })
    const meter = meterSource()
    if (meter !== null) await meter.start()
    const { outcomes, durationMs } = await runWorkload(workload, {
      target: opts.target,
      model: opts.model,
      concurrency,
      timeoutMs,
      signal: io.stopSignal,
      onDone: () => bar?.increment(),
    })
    const measured = meter === null ? null : await meter.stop()
    if (meter !== null) meterLabel = meter.source
    bar?.stop()
    if (io.stopSignal.aborted) throw new ExitError(EXIT.badInput, 'interrupted: no result written')
    if (!outcomes.some((o) => o.ok)) {
      const cause = outcomes.find((o) => o.error !== undefined)?.error ?? 'no answer'
      throw new ExitError(
        EXIT.badInput,
        `WL_UPSTREAM_UNAVAILABLE: none of the ${String(outcomes.length)} requests of repeat ${String(k + 1)} to --target ${opts.target} succeeded (first failure: ${cause}); is the endpoint running and is the URL its OpenAI base, including /v1? No result written.`,
      )
    }
    const energy =
      measured ??
      modelledEnergy(profile as EnergyProfile, outcomes, Math.min(concurrency, workload.length))
    runs.push(toRun(outcomes, durationMs, energy, intensity?.intensity ?? null))
  }
  const method: Method = meterKind === 'model' ? 'modelled' : 'measured'
  const result: BenchResult = {
    schema: BENCH_RESULT_SCHEMA,
    release: opts.release ?? null,
    target: opts.target,
    model: opts.model,
    hardware: opts.hardware ?? null,
    precision: opts.precision ?? null,
    zone: opts.zone ?? null,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    workload: {
      file: basename(path),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      format: trace.format,
      requests: workload.length,
      seed,
      concurrency,
    },
    meter: { kind: meterKind, method, source: meterLabel },
    intensity:
      intensity === null
        ? null
        : { zone: intensity.zone, g_per_kwh: intensity.intensity, source: intensity.source },
    runs,
    metrics: {
      energy_per_1k_requests_wh: figure(
        runs,
        (r) => ((r.energy_j.value / JOULES_PER_WH) * 1000) / r.ok,
        (r, e) => ((e / JOULES_PER_WH) * 1000) / r.ok,
        method,
        meterLabel,
      ) as Figure,
      energy_per_output_token_j: runs.every((r) => r.output_tokens > 0)
        ? figure(
            runs,
            (r) => r.energy_j.value / r.output_tokens,
            (r, e) => e / r.output_tokens,
            method,
            meterLabel,
          )
        : null,
      carbon_per_1k_requests_g:
        intensity === null
          ? null
          : figure(
              runs,
              (r) => ((r.carbon_g?.value ?? 0) * 1000) / r.ok,
              (r, e) => (carbonOf(joules(e), intensity.intensity) * 1000) / r.ok,
              method,
              `${meterLabel}; intensity ${intensity.source}`,
            ),
    },
    confidence: `95 % Student-t interval of the mean over ${repeat} repeat(s), widened to the meter's own interval`,
    provenance: { wattline_version: '0.1.0', node: process.version, host: hostname() },
  }
  return benchResultSchema.parse(result)
}

function modelledEnergy(
  profile: EnergyProfile,
  outcomes: readonly RequestOutcome[],
  batch: number,
) {
  let value = 0
  let low = 0
  let high = 0
  for (const o of outcomes) {
    if (!o.ok) continue
    const e = estimateRequest(profile, {
      inputTokens: o.inputTokens,
      outputTokens: o.outputTokens,
      batch,
    })
    value += e.value
    low += e.low
    high += e.high
  }
  return { value, low, high }
}

function toRun(
  outcomes: readonly RequestOutcome[],
  durationMs: number,
  energy: { value: number; low: number; high: number },
  intensity: number | null,
): BenchRun {
  const ok = outcomes.filter((o) => o.ok)
  const latencies = ok.map((o) => o.latencyMs).sort((a, b) => a - b)
  const q = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0
  const carbon = (j: number): number =>
    intensity === null ? 0 : carbonOf(joules(j), gramsPerKwh(intensity))
  return {
    requests: outcomes.length,
    ok: ok.length,
    errors: outcomes.length - ok.length,
    input_tokens: ok.reduce((a, o) => a + o.inputTokens, 0),
    output_tokens: ok.reduce((a, o) => a + o.outputTokens, 0),
    duration_ms: durationMs,
    latency_ms_p50: q(0.5),
    latency_ms_p95: q(0.95),
    energy_j: energy,
    carbon_g:
      intensity === null
        ? null
        : { value: carbon(energy.value), low: carbon(energy.low), high: carbon(energy.high) },
  }
}

/** Mean over runs with a 95 % interval, widened to the mean of the runs' own (meter) intervals. */
function figure(
  runs: readonly BenchRun[],
  central: (r: BenchRun) => number,
  fromEnergy: (r: BenchRun, energyJ: number) => number,
  method: Method,
  source: string,
): Figure {
  const ci = meanInterval(runs.map(central))
  const meterLow = runs.reduce((a, r) => a + fromEnergy(r, r.energy_j.low), 0) / runs.length
  const meterHigh = runs.reduce((a, r) => a + fromEnergy(r, r.energy_j.high), 0) / runs.length
  return {
    value: ci.mean,
    low: Math.max(0, Math.min(ci.low, meterLow, ci.mean)),
    high: Math.max(ci.high, meterHigh, ci.mean),
    method,
    source,
  }
}

/** Short human summary. */
export function renderBench(r: BenchResult, out: string): string {
  const f = (x: Figure | null, unit: string): string =>
    x === null
      ? 'n/a'
      : `${x.value.toPrecision(4)} ${unit} [${x.low.toPrecision(4)}, ${x.high.toPrecision(4)}] (${x.method})`
  const errors = r.runs.reduce((a, run) => a + run.errors, 0)
  return [
    `bench ${r.model} @ ${r.target}: ${r.runs.length} × ${r.workload.requests} requests, concurrency ${r.workload.concurrency}`,
    `energy per 1k requests: ${f(r.metrics.energy_per_1k_requests_wh, 'Wh')}`,
    `energy per output token: ${f(r.metrics.energy_per_output_token_j, 'J')}`,
    `carbon per 1k requests:  ${f(r.metrics.carbon_per_1k_requests_g, 'gCO2e')}`,
    ...(errors > 0
      ? [`WARNING: ${errors} failed requests (excluded from the per-request metrics)`]
      : []),
    `meter: ${r.meter.source}`,
    `written to ${out}`,
    '',
  ].join('\n')
}

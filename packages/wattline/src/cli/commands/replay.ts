/**
 * @module cli/commands/replay
 * `wattline replay --trace F (--fleet F | --config wattline.yaml) --carbon SPEC
 *  --policies round-robin,least-loaded,carbon-aware,oracle [--start ISO] [--seed N] [--json F]
 *  [--html F] [--lenient] [--scaling static-peak,reactive,predictive,energy-optimal]`: the routing policies side by side on a recorded trace, a fleet (a fleet
 * file, or the user's own gateway config) and real grid data, with the exact oracle bound. Prints one table; writes
 * JSON and HTML on request. A progress bar goes to stderr on a TTY. `--scaling` adds right-sizing
 * policies on the fleet's backend pools (sim/replay-scaling.ts): a second table, `scaling` in the
 * JSON and a replicas-over-time chart in the HTML.
 */
import { writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import cliProgress from 'cli-progress'
import { SCALING_POLICIES, WattlineError, type CarbonIntensitySource } from '@wattline/core'
import { CARBON_SPEC_SYNTAX } from '../../adapters/carbon/carbon-spec.ts'
import { openCarbonSource } from '../../adapters/carbon/open-carbon-source.ts'
import { createSystemClock } from '../../adapters/clock/system-clock.ts'
import { loadIntensitySteps } from '../../sim/intensity-steps.ts'
import { loadReplayFleet } from '../../sim/config-fleet.ts'
import { checkFleetZones, type Fleet } from '../../sim/load-fleet.ts'
import { REPLAY_POLICIES, runReplay } from '../../sim/replay.ts'
import { renderReplayHtml } from '../../sim/replay-html.ts'
import { renderReplayTable, toReplayJson } from '../../sim/replay-report.ts'
import {
  runScalingReplay,
  scalingTrace,
  type ScalingReplay,
  type ScalingReplayOptions,
} from '../../sim/replay-scaling.ts'
import {
  DEFAULT_LEVER_SETTINGS,
  REPLAY_LEVERS,
  type LeverSettings,
} from '../../sim/replay-levers.ts'
import {
  renderScalingHtml,
  renderScalingTable,
  toScalingJson,
} from '../../sim/replay-scaling-report.ts'
import {
  loadTrace,
  TRACE_FORMATS,
  type LoadedTrace,
  type TraceFormat,
} from '../../sim/trace-reader.ts'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import type { CliIo } from '../io.ts'

interface ReplayFlags {
  trace: string
  fleet?: string
  config?: string
  carbon?: string
  policies: string
  start?: string
  seed: string
  json?: string
  html?: string
  lenient?: boolean
  format?: string
  timeScale: string
  loop: string
  sample: string
  limit?: string
  oracleBucketMin: string
  scaling?: string
  scalingWindowS: string
  diurnalDays: string
  deferralPct?: string
  levers?: string
  cacheTtlS: string
  cacheMinUses: string
  prefixCacheTokens: string
  prefixMaxCarbonPenaltyPct: string
  tiers?: boolean
  tierOptInPct: string
}

const DEFAULT_POLICIES = 'round-robin,least-loaded,carbon-aware,oracle'

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('replay')
    .description(
      'Replay a request trace against a fleet: routing policies side by side, with the exact oracle bound',
    )
    .requiredOption(
      '--trace <file>',
      `trace file: Azure CSV, Mooncake JSONL or generic JSONL (${TRACE_FORMATS.join(', ')})`,
    )
    .option(
      '--fleet <file>',
      'fleet file (YAML; schema: fleet.schema.json), or a wattline.yaml (detected: no clients, backends with url)',
    )
    .option(
      '--config <file>',
      "a gateway config (wattline.yaml): replay the gateway's own backends, services, SLOs, weights and tolerances",
    )
    .option(
      '--carbon <spec>',
      `carbon source spec (${CARBON_SPEC_SYNTAX}), or data folders/files (comma-separated); it must serve the trace's window (default: the config's carbon: section with --config, else static)`,
    )
    .option(
      '--policies <list>',
      `comma-separated, first is the baseline (${REPLAY_POLICIES.join(', ')})`,
      DEFAULT_POLICIES,
    )
    .option('--start <iso>', 'place the first request at this instant (needed for relative traces)')
    .option('--seed <n>', 'seed for request placement, sampling and weighted draws', '1')
    .option('--json <file>', 'write the JSON report to this file (- for stdout)')
    .option('--html <file>', 'write the HTML report with charts to this file')
    .option('--lenient', 'skip malformed trace lines (counted) instead of failing')
    .option('--format <format>', `trace format (default: detected): ${TRACE_FORMATS.join(', ')}`)
    .option('--time-scale <x>', 'multiply inter-arrival gaps (0.5 = twice the request rate)', '1')
    .option('--loop <n>', 'replay the trace n times back to back', '1')
    .option('--sample <f>', 'keep each request with probability f (seeded)', '1')
    .option('--limit <n>', 'stop after n requests')
    .option('--oracle-bucket-min <m>', 'oracle LP time bucket, minutes', '5')
    .option(
      '--scaling <list>',
      `right-sizing policies to replay on the backend pools, first is the baseline (${SCALING_POLICIES.join(', ')})`,
    )
    .option('--scaling-window-s <s>', 'right-sizing decision window, seconds', '60')
    .option(
      '--diurnal-days <n>',
      'right-sizing: stretch the trace over n days on a diurnal shape, measure the last (0: as recorded)',
      '0',
    )
    .option(
      '--deferral-pct <p>',
      'right-sizing: extra p95 latency energy-optimal may use while the grid is above its daily median, % of the SLO',
    )
    .option(
      '--levers <list>',
      `in-region energy levers on every policy but do-nothing and oracle, each one's saving measured (${REPLAY_LEVERS.join(', ')}); cache and prefix need a trace with hash_ids`,
    )
    .option(
      '--cache-ttl-s <s>',
      'levers: response cache time to live, seconds',
      String(DEFAULT_LEVER_SETTINGS.cacheTtlMs / 1000),
    )
    .option(
      '--cache-min-uses <n>',
      "levers: requests of a prompt before its answer is stored (the gateway's cache.min_uses)",
      String(DEFAULT_LEVER_SETTINGS.cacheMinUses),
    )
    .option(
      '--prefix-cache-tokens <n>',
      "levers: prompt tokens one replica's prefix (KV) cache holds",
      String(DEFAULT_LEVER_SETTINGS.prefixCacheTokens),
    )
    .option(
      '--prefix-max-carbon-penalty-pct <p>',
      'levers: prefix affinity may pick a zone this much dirtier than the policy did, %',
      String(DEFAULT_LEVER_SETTINGS.maxCarbonPenaltyPct),
    )
    .option(
      '--tiers',
      "quality tiers (the fleet's services[].tiers) on every policy but do-nothing and oracle: share downgraded and saving vs the requested models",
    )
    .option(
      '--tier-opt-in-pct <p>',
      'tiers: percent of requests whose client sends x-wattline-tier: eco (seeded draw)',
      '0',
    )
    .action(async (flags: ReplayFlags) => {
      setExit(await runReplayCommand(flags, io))
    })
}

async function runReplayCommand(flags: ReplayFlags, io: CliIo): Promise<ExitCode> {
  const policies = parseNames('--policies', REPLAY_POLICIES, 'policy', flags.policies)
  const scalingPolicies =
    flags.scaling === undefined
      ? undefined
      : parseNames('--scaling', SCALING_POLICIES, 'policy', flags.scaling)
  const diurnalDays = intFlag('--diurnal-days', flags.diurnalDays, 0)
  const scalingWindowMs = numFlag('--scaling-window-s', flags.scalingWindowS) * 1000
  const deferralPct =
    flags.deferralPct === undefined ? undefined : pctFlag('--deferral-pct', flags.deferralPct)
  const levers =
    flags.levers === undefined
      ? undefined
      : parseNames('--levers', REPLAY_LEVERS, 'lever', flags.levers)
  const leverSettings: LeverSettings | undefined =
    levers === undefined
      ? undefined
      : {
          levers,
          cacheTtlMs: numFlag('--cache-ttl-s', flags.cacheTtlS) * 1000,
          cacheMinUses: intFlag('--cache-min-uses', flags.cacheMinUses, 1),
          prefixCacheTokens: intFlag('--prefix-cache-tokens', flags.prefixCacheTokens, 0),
          maxCarbonPenaltyPct: pctFlag(
            '--prefix-max-carbon-penalty-pct',
            flags.prefixMaxCarbonPenaltyPct,
          ),
        }
  const tierOptInPct = pctFlag('--tier-opt-in-pct', flags.tierOptInPct)
  if (tierOptInPct > 100)
    throw badFlag('--tier-opt-in-pct', 'a percentage from 0 to 100', flags.tierOptInPct)
  if (flags.tiers !== true && tierOptInPct > 0) {
    throw new WattlineError('WL_INVALID_INPUT', '--tier-opt-in-pct needs --tiers', {
      details: { field: '--tier-opt-in-pct' },
    })
  }
  const seed = intFlag('--seed', flags.seed, 0)
  const start = flags.start === undefined ? undefined : isoFlag('--start', flags.start)
  const format = flags.format === undefined ? undefined : formatFlag(flags.format)
  const tracePath = resolve(io.cwd, flags.trace)
  if ((flags.fleet === undefined) === (flags.config === undefined)) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      'give exactly one of --fleet <file> or --config <wattline.yaml>',
      { details: { field: flags.fleet === undefined ? '--fleet' : '--config' } },
    )
  }
  const fleet = await loadReplayFleet(
    resolve(io.cwd, (flags.fleet ?? flags.config) as string),
    flags.config === undefined ? 'auto' : 'config',
    { env: io.env },
  )
  const trace = await loadTrace(tracePath, {
    ...(format === undefined ? {} : { format }),
    ...(start === undefined ? {} : { start }),
    lenient: flags.lenient === true,
    timeScale: numFlag('--time-scale', flags.timeScale),
    loop: intFlag('--loop', flags.loop, 1),
    sample: numFlag('--sample', flags.sample),
    seed,
    ...(flags.limit === undefined ? {} : { limit: intFlag('--limit', flags.limit, 1) }),
  })
  if (trace.count === 0)
    throw new WattlineError('WL_INVALID_INPUT', `${flags.trace}: no requests to replay`)
  const source = openCarbonSource(flags.carbon ?? fleet.carbon ?? 'static', {
    mode: 'direct',
    clock: createSystemClock(),
    env: io.env,
    baseDir: io.cwd,
    flag: '--carbon',
  })
  const zones = await source.preload()
  if (zones !== undefined) checkFleetZones(fleet, zones, source.name)
  const first = trace.arrival[0] as number
  const last = trace.arrival[trace.count - 1] as number
  const steps = await loadIntensitySteps(
    source,
    fleet.backends.map((b) => b.zone),
    first,
    last,
  )

  const bar =
    io.stderr.isTTY === true
      ? new cliProgress.SingleBar(
          {
            stream: io.stderr as NodeJS.WritableStream,
            format: '{policy} [{bar}] {percentage}% {value}/{total} requests',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined
  let current = ''
  const report = await runReplay(trace, fleet, steps, source.name, {
    policies,
    seed,
    oracleBucketMs: numFlag('--oracle-bucket-min', flags.oracleBucketMin) * 60_000,
    ...(leverSettings === undefined ? {} : { levers: leverSettings }),
    ...(flags.tiers === true ? { tiers: { optInPct: tierOptInPct } } : {}),
    ...(bar === undefined
      ? {}
      : {
          onProgress: (policy: string, done: number, total: number) => {
            if (policy !== current) {
              if (current !== '') bar.stop()
              current = policy
              bar.start(total, 0, { policy: policy.padEnd(13) })
            }
            bar.update(done, { policy: policy.padEnd(13) })
          },
        }),
  })
  bar?.stop()

  const scaling =
    scalingPolicies === undefined
      ? undefined
      : await replayScaling(trace, fleet, source, {
          policies: scalingPolicies,
          windowMs: scalingWindowMs,
          diurnalDays,
          ...(deferralPct === undefined ? {} : { deferralPct }),
        })

  const json = `${JSON.stringify(
    scaling === undefined
      ? toReplayJson(report)
      : { ...(toReplayJson(report) as object), scaling: toScalingJson(scaling) },
    null,
    2,
  )}\n`
  if (flags.json === '-') io.stdout.write(json)
  else {
    io.stdout.write(renderReplayTable(report))
    if (scaling !== undefined) io.stdout.write(renderScalingTable(scaling))
  }
  if (flags.json !== undefined && flags.json !== '-')
    await writeOut(resolve(io.cwd, flags.json), json)
  if (flags.html !== undefined)
    await writeOut(
      resolve(io.cwd, flags.html),
      renderReplayHtml(report, scaling === undefined ? '' : renderScalingHtml(scaling)),
    )
  return EXIT.ok
}

/** `--scaling`: right-sizing on the fleet's pools over the (optionally stretched) trace. */
async function replayScaling(
  trace: LoadedTrace,
  fleet: Fleet,
  source: CarbonIntensitySource,
  options: Omit<ScalingReplayOptions, 'zoneSteps'>,
): Promise<ScalingReplay> {
  const fleetTrace = {
    arrivalMs: trace.arrival,
    inputTokens: trace.inputTokens,
    outputTokens: trace.outputTokens,
  }
  const span = scalingTrace(fleetTrace, options.diurnalDays)
  const first = span.trace.arrivalMs[0] as number
  const steps = await loadIntensitySteps(
    source,
    fleet.backends.map((b) => b.zone),
    Math.min(first, span.fromMs),
    span.toMs,
  )
  return runScalingReplay(fleetTrace, fleet, { ...options, zoneSteps: steps.zones })
}

function pctFlag(flag: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1000)
    throw badFlag(flag, 'a percentage from 0 to 1000', value)
  return n
}

/**
 * A comma-separated `flag` value as a list of names from `allowed`, each once and at least one;
 * `noun` names one item in the messages (policy, lever).
 */
function parseNames<N extends string>(
  flag: string,
  allowed: readonly N[],
  noun: string,
  list: string,
): N[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (names.length === 0) throw badFlag(flag, `at least one ${noun}`, list)
  for (const n of names) {
    if (!(allowed as readonly string[]).includes(n))
      throw badFlag(flag, `names from ${allowed.join(', ')}`, n)
  }
  if (new Set(names).size !== names.length) throw badFlag(flag, `each ${noun} once`, list)
  return names as N[]
}

function intFlag(flag: string, value: string, min: number): number {
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min) throw badFlag(flag, `an integer ≥ ${min}`, value)
  return n
}

function numFlag(flag: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw badFlag(flag, 'a number > 0', value)
  return n
}

function isoFlag(flag: string, value: string): number {
  const t = Date.parse(value)
  if (Number.isNaN(t)) throw badFlag(flag, 'an ISO 8601 instant (e.g. 2023-06-01T12:00:00Z)', value)
  return t
}

function formatFlag(value: string): TraceFormat {
  if (!(TRACE_FORMATS as readonly string[]).includes(value))
    throw badFlag('--format', TRACE_FORMATS.join(' | '), value)
  return value as TraceFormat
}

function badFlag(flag: string, expected: string, got: string): WattlineError {
  return new WattlineError('WL_INVALID_INPUT', `${flag}: expected ${expected}, got "${got}"`, {
    details: { field: flag },
  })
}

async function writeOut(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text)
  } catch (cause) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `cannot write ${path}: ${(cause as Error).message}`,
      { cause },
    )
  }
}

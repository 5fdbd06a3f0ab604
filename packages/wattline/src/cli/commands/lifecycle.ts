/**
 * @module cli/commands/lifecycle
 * `wattline lifecycle add-training …`, `add-hardware …` and `import --file lifecycle.yaml`: record
 * training runs and hardware inventory in the ledger (chained and signed like every row), for the
 * lifecycle section and SCI's M of `wattline report`. Every input is validated first; on any problem
 * nothing is written and the command exits 2 naming the flag (or file:line:column and key).
 */
import { existsSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { Command } from 'commander'
import { LineCounter, parseDocument } from 'yaml'
import { instant, type AuditRecord } from '@wattline/core'
import { createBuiltinSource } from '../../adapters/carbon/builtin-source.ts'
import { openLedger } from '../../adapters/storage/open-ledger.ts'
import {
  hardwareInputSchema,
  lifecycleFileSchema,
  parseLifecycle,
  toHardwareRecord,
  toTrainingRecord,
  trainingInputSchema,
  type LifecycleIssue,
  type MeanIntensity,
} from '../../report/lifecycle-input.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { readCliText } from '../read-cli-text.ts'
import { writeJson, type CliIo } from '../io.ts'

interface LedgerFlags {
  ledger: string
  signingKey?: string
  json?: boolean
}

/** Flags of `add-training`, camel-cased by commander; keys map 1:1 to the YAML keys. */
const TRAINING_FLAGS = {
  name: 'name',
  model: 'model',
  energyKwh: 'energy_kwh',
  gpuHours: 'gpu_hours',
  hardware: 'hardware',
  accelerators: 'accelerators',
  utilisation: 'utilisation',
  pue: 'pue',
  zone: 'zone',
  region: 'region',
  start: 'start',
  end: 'end',
  carbonKg: 'carbon_kg',
  intensityGPerKwh: 'intensity_g_per_kwh',
  method: 'method',
  source: 'source',
  energyUncertaintyPct: 'energy_uncertainty_pct',
} as const
const HARDWARE_FLAGS = {
  id: 'id',
  hardware: 'hardware',
  count: 'count',
  embodiedKg: 'embodied_kg',
  lifetimeYears: 'lifetime_years',
  inServiceFrom: 'in_service_from',
  allocationShare: 'allocation_share',
  zone: 'zone',
  region: 'region',
  source: 'source',
} as const
const NUMERIC = new Set([
  'energy_kwh',
  'gpu_hours',
  'accelerators',
  'utilisation',
  'pue',
  'carbon_kg',
  'intensity_g_per_kwh',
  'energy_uncertainty_pct',
  'count',
  'embodied_kg',
  'lifetime_years',
  'allocation_share',
])

/** Dependencies; tests pass a fixed intensity. */
export interface LifecycleDeps {
  readonly meanIntensity: MeanIntensity
}

/** Mean of the built-in hourly intensity over `[from, to)`, in chunks the table allows. */
export const builtinMeanIntensity: MeanIntensity = async (zone, fromMs, toMs) => {
  const source = createBuiltinSource()
  const chunk = 8000 * 3_600_000
  let sum = 0
  let n = 0
  let label = ''
  for (let t = fromMs; t < toMs; t += chunk) {
    for (const p of await source.series(zone, instant(t), instant(Math.min(toMs, t + chunk)))) {
      sum += p.intensity
      n += 1
      label = p.source
    }
  }
  if (n === 0) {
    const p = await source.intensityAt(zone, instant(fromMs))
    return { value: p.intensity, source: p.source }
  }
  return { value: sum / n, source: `${label} for ${zone}` }
}

export function register(
  program: Command,
  io: CliIo,
  setExit: (code: ExitCode) => void,
  deps: LifecycleDeps = { meanIntensity: builtinMeanIntensity },
): void {
  const lifecycle = program
    .command('lifecycle')
    .description('Record training runs and hardware inventory for lifecycle reports and SCI’s M')
  const ledgerFlags = (cmd: Command): Command =>
    cmd
      .requiredOption('--ledger <url>', 'ledger URL (sqlite:PATH or postgres://…)')
      .option(
        '--signing-key <file>',
        'Ed25519 private key the ledger signs blocks with (ledger.signing_key_path; default: beside a SQLite ledger, else wattline-data/)',
      )
      .option('--json', 'print the records written as JSON')

  ledgerFlags(
    lifecycle
      .command('add-training')
      .description('Record a training or fine-tuning run (energy metered, or GPU-hours × hardware)')
      .requiredOption('--name <id>', 'run id, e.g. ft-2024-03')
      .requiredOption('--model <id>', 'model the run produced')
      .option('--energy-kwh <x>', 'metered energy, kWh')
      .option('--gpu-hours <x>', 'accelerator-hours (with --hardware): energy is modelled from TDP')
      .option('--hardware <id>', 'hardware catalogue id, e.g. H100-SXM')
      .option('--accelerators <n>', 'accelerators used (informational)')
      .option('--utilisation <x>', 'share of TDP drawn on average, 0..1 (gpu-hours only)', '1')
      .option('--pue <x>', 'PUE to apply (1 when the energy is already facility energy)', '1')
      .option('--zone <zone>', 'grid zone of the run (Electricity Maps id)')
      .option('--region <region>', 'cloud region of the run, e.g. aws:us-east-1')
      .requiredOption('--start <iso>', 'start of the run, ISO 8601')
      .requiredOption('--end <iso>', 'end of the run, ISO 8601')
      .option('--carbon-kg <x>', 'carbon of the run as reported, kgCO2e')
      .option('--intensity-g-per-kwh <x>', 'grid intensity to apply, gCO2e/kWh')
      .option('--method <m>', 'measured | modelled (default: measured with --energy-kwh)')
      .requiredOption('--source <text>', 'where the figures come from')
      .option('--energy-uncertainty-pct <x>', 'half-width of the energy interval, %', '0'),
  ).action(async (opts: Record<string, string | boolean | undefined> & LedgerFlags) => {
    const input = fromFlags(opts, TRAINING_FLAGS)
    const parsed = parseLifecycle(trainingInputSchema, input)
    if (!parsed.ok) throw badFlags(parsed.issues, TRAINING_FLAGS)
    const record = await toTrainingRecord(parsed.value, deps.meanIntensity)
    await write(io, opts, [record])
    setExit(EXIT.ok)
  })

  ledgerFlags(
    lifecycle
      .command('add-hardware')
      .description('Record hardware in service, for embodied emissions amortised in reports')
      .requiredOption('--id <id>', 'inventory id, e.g. rack-7')
      .requiredOption('--hardware <id>', 'hardware catalogue id, e.g. H100-SXM')
      .requiredOption('--count <n>', 'units')
      .option('--embodied-kg <x>', 'embodied emissions per unit, kgCO2e (default: catalogue)')
      .requiredOption('--lifetime-years <x>', 'expected lifetime, years (SCI EL)')
      .requiredOption('--in-service-from <iso>', 'date the units entered service, ISO 8601')
      .option('--allocation-share <x>', 'share reserved for the services, 0..1 (SCI RR/ToR)', '1')
      .option('--zone <zone>', 'grid zone the units run in')
      .option('--region <region>', 'cloud region the units run in')
      .option('--source <text>', 'source of --embodied-kg (required with it)'),
  ).action(async (opts: Record<string, string | boolean | undefined> & LedgerFlags) => {
    const parsed = parseLifecycle(hardwareInputSchema, fromFlags(opts, HARDWARE_FLAGS))
    if (!parsed.ok) throw badFlags(parsed.issues, HARDWARE_FLAGS)
    await write(io, opts, [toHardwareRecord(parsed.value)])
    setExit(EXIT.ok)
  })

  ledgerFlags(
    lifecycle
      .command('import')
      .description('Record every training run and hardware item of a YAML file')
      .requiredOption('--file <path>', 'YAML with training_runs: and hardware: lists'),
  ).action(async (opts: LedgerFlags & { file: string }) => {
    const records = await readLifecycleFile(resolve(io.cwd, opts.file), opts.file, deps)
    await write(io, opts, records)
    setExit(EXIT.ok)
  })
  lifecycle.exitOverride()
}

/** Reads, validates and translates a lifecycle YAML file; exit 2 with file:line:column on problems. */
export async function readLifecycleFile(
  path: string,
  display: string,
  deps: LifecycleDeps,
): Promise<AuditRecord[]> {
  const text = await readCliText(path, display, '--file')
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const pos = e === undefined ? undefined : lines.linePos(e.pos[0])
    throw new ExitError(
      EXIT.badInput,
      `${display}:${pos?.line ?? 1}:${pos?.col ?? 1}: invalid YAML: ${e?.message.split('\n')[0] ?? ''}`,
    )
  }
  const parsed = parseLifecycle(lifecycleFileSchema, doc.toJS() ?? {})
  if (!parsed.ok) {
    const where = (issue: LifecycleIssue): string => {
      // Point at the deepest node that exists on the path.
      for (let n = issue.path.length; n >= 0; n -= 1) {
        const node = doc.getIn(issue.path.slice(0, n), true) as
          { range?: [number, number] } | undefined
        if (node?.range !== undefined) {
          const p = lines.linePos(node.range[0])
          return `${display}:${p.line}:${p.col}`
        }
      }
      return display
    }
    throw new ExitError(
      EXIT.badInput,
      parsed.issues.map((i) => `${where(i)}: ${dotted(i.path)}: ${i.message}`).join('\n'),
    )
  }
  const records: AuditRecord[] = []
  for (const t of parsed.value.training_runs)
    records.push(await toTrainingRecord(t, deps.meanIntensity))
  for (const h of parsed.value.hardware) records.push(toHardwareRecord(h))
  if (records.length === 0)
    throw new ExitError(EXIT.badInput, `${display}: no training_runs or hardware entries`)
  return records
}

async function write(io: CliIo, opts: LedgerFlags, records: readonly AuditRecord[]): Promise<void> {
  const created = isNewSqliteLedger(opts.ledger, io.cwd)
  const ledger = await openLedger(opts.ledger, {
    baseDir: io.cwd,
    ...(opts.signingKey === undefined ? {} : { signingKeyPath: opts.signingKey }),
  })
  try {
    await ledger.sink.writeNow(records)
  } finally {
    await ledger.close()
  }
  if (created) io.stderr.write(`created a new ledger at ${opts.ledger}\n`)
  if (opts.json === true) writeJson(io, records)
  else
    for (const r of records)
      io.stdout.write(
        r.kind === 'training_run'
          ? `recorded training run ${r.id}: ${sig(r.energy_j / 3_600_000)} kWh, ${sig(r.carbon_g / 1000)} kgCO2e (${r.method})\n`
          : r.kind === 'hardware'
            ? `recorded hardware ${r.id}: ${r.count} × ${r.hardware}, ${sig(r.embodied_g / 1000)} kgCO2e each, ${r.lifetime_years} years, share ${r.allocation_share ?? 1}\n`
            : '',
      )
}

/** Collects the flags the user gave under their YAML names; numbers must be numbers. */
function fromFlags(
  opts: Record<string, unknown>,
  names: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [flag, key] of Object.entries(names)) {
    const v = opts[flag]
    if (v === undefined) continue
    if (NUMERIC.has(key) && typeof v === 'string') {
      const n = Number(v)
      if (v.trim() === '' || !Number.isFinite(n))
        throw new ExitError(
          EXIT.badInput,
          `${flagName(key)}: expected a number, got ${JSON.stringify(v)}`,
        )
      out[key] = n
    } else out[key] = v
  }
  return out
}

function badFlags(
  issues: readonly LifecycleIssue[],
  names: Readonly<Record<string, string>>,
): ExitError {
  const known = new Set(Object.values(names))
  return new ExitError(
    EXIT.badInput,
    issues
      .map((i) => {
        const key = String(i.path[0] ?? '')
        return `${known.has(key) ? flagName(key) : key || 'input'}: ${i.message}`
      })
      .join('\n'),
  )
}

function flagName(key: string): string {
  return `--${key.replaceAll('_', '-')}`
}

function dotted(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

function isNewSqliteLedger(url: string, cwd: string): boolean {
  if (!url.startsWith('sqlite:')) return false
  const path = url.slice('sqlite:'.length)
  if (path === '' || path === ':memory:') return false
  return !existsSync(isAbsolute(path) ? path : resolve(cwd, path))
}

function sig(n: number): string {
  return Number(n.toPrecision(4)).toString()
}

/**
 * @module cli/commands/profiles
 * `wattline profiles`: the fitted energy profiles the catalogue knows, with energy per output
 * token at batch 1 and at the largest measured batch.
 */
import type { Command } from 'commander'
import {
  fittedEntries,
  FITTED_PROFILE_TABLE,
  fittedProfile,
  type FittedProfileEntry,
} from '@wattline/core'
import { EXIT, type ExitCode } from '../exit-codes.ts'
import { writeJson, type CliIo } from '../io.ts'

/** One row of `wattline profiles --json`. */
export interface ProfileRow {
  readonly model: string
  readonly hardware: string
  readonly precision: string
  readonly gpus: number
  readonly energy_per_output_token_j_batch_1: number
  readonly energy_per_output_token_j_max_batch: number
  readonly max_batch: number
  readonly measurements: number
  readonly method: 'modelled'
  readonly source: string
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('profiles')
    .description('List the energy profiles fitted to ML.ENERGY measurements')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const rows = profileRows()
      if (opts.json === true) writeJson(io, rows)
      else io.stdout.write(renderProfiles(rows))
      setExit(EXIT.ok)
    })
}

/** Rows for every fitted profile, sorted by model, hardware, precision, GPUs. */
export function profileRows(): ProfileRow[] {
  return [...fittedEntries()]
    .sort(
      (a, b) =>
        a.model.localeCompare(b.model) ||
        a.hardware.localeCompare(b.hardware) ||
        a.precision.localeCompare(b.precision) ||
        a.gpus - b.gpus ||
        a.dataset.localeCompare(b.dataset),
    )
    .map(toRow)
}

function toRow(e: FittedProfileEntry): ProfileRow {
  const p = fittedProfile(FITTED_PROFILE_TABLE, e)
  return {
    model: e.model,
    hardware: e.hardware,
    precision: e.precision,
    gpus: e.gpus,
    energy_per_output_token_j_batch_1: round(p.energyPerOutputToken(1).value),
    energy_per_output_token_j_max_batch: round(p.energyPerOutputToken(e.maxBatch).value),
    max_batch: Math.round(e.maxBatch),
    measurements: e.points,
    method: 'modelled',
    source: `${e.dataset} ${e.task}`,
  }
}

/** A plain-text table with units in the header. */
export function renderProfiles(rows: readonly ProfileRow[]): string {
  const header = [
    'model',
    'hardware',
    'prec',
    'gpus',
    'J/tok @1',
    'J/tok @max',
    'max batch',
    'source',
  ]
  const body = rows.map((r) => [
    r.model,
    r.hardware,
    r.precision,
    String(r.gpus),
    r.energy_per_output_token_j_batch_1.toFixed(3),
    r.energy_per_output_token_j_max_batch.toFixed(3),
    String(r.max_batch),
    r.source,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i >= 3 && i <= 6 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return [
    line(header),
    ...body.map(line),
    '',
    `${rows.length} fitted profiles; energy per output token in J (all GPUs of a replica, IT power, no PUE), modelled from ${FITTED_PROFILE_TABLE.source}.`,
    'Batch 1 lies below the measured range and is extrapolated with a wider interval.',
    '',
  ].join('\n')
}

function round(v: number): number {
  return Number(v.toPrecision(4))
}

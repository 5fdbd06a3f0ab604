/**
 * `npm run bench:estimate`: the energy estimator's error on ML.ENERGY configurations it was NOT
 * fitted on, side by side with the EcoLogits per-token formula on the same rows.
 *
 * Part 1, in-sample split (the committed table):
 *
 * Held out (seeded split, recorded in the committed table `heldOut`):
 * - whole configurations (model × hardware × precision × GPUs × task) the parametric regression
 *   never saw → scored with the parametric estimator (the path for unmeasured models/hardware);
 * - interior batch sizes of the other configurations, left out of their curve fits → scored with
 *   the fitted profiles (the path for measured triples).
 * Metric: energy per output token (J). APE = |estimate − measured| / measured.
 * EcoLogits (genai-impact/ecologits, per-token energy): E_token = α·P_active + β Wh, with
 * α = 8.91e-5 Wh per token per billion active parameters and β = 1.43e-3 Wh per token.
 *
 * Part 2, leave-one-task-out: for each ML.ENERGY task (request mix), the whole table is refitted
 * without it and each of its rows is predicted the way `resolveProfile` serves a caller: the
 * measured curve of the same (model, hardware, precision, GPUs) from another task when one exists,
 * carried to the row's mean output length, else the parametric estimator at that output length.
 * Beside it, the same tables with the request mix ignored (no output length given) and EcoLogits.
 */
import {
  findHardware,
  findModel,
  fitProfileTable,
  FITTED_PROFILE_TABLE,
  fittedProfile,
  parametricProfile,
  resolveProfile,
  resolveRows,
  taskKey,
  type EnergyProfile,
  type MeasuredRow,
  type ResolvedRow,
} from '@wattline/core'
import {
  hasMlEnergyData,
  loadMlEnergyRows,
  SHARED_DATA_DIR,
} from '../packages/wattline/scripts/load-mlenergy.ts'

const ALPHA_WH = 8.91e-5
const BETA_WH = 1.43e-3

interface Scored {
  readonly ape: number
  readonly inside: boolean
  readonly ecoApe: number
}

function ecologitsJ(activeB: number): number {
  return (ALPHA_WH * activeB + BETA_WH) * 3600
}

function score(row: ResolvedRow, profile: EnergyProfile): Scored {
  const e = profile.energyPerOutputToken(row.batch)
  const m = row.energyPerOutputTokenJ
  return {
    ape: Math.abs(e.value - m) / m,
    inside: m >= e.low && m <= e.high,
    ecoApe: Math.abs(ecologitsJ(row.activeB) - m) / m,
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2
}
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`

function summarise(name: string, scored: readonly Scored[]): string[] {
  const ape = scored.map((s) => s.ape)
  const eco = scored.map((s) => s.ecoApe)
  const inside = scored.filter((s) => s.inside).length / scored.length
  return [
    name,
    String(scored.length),
    pct(median(ape)),
    pct(mean(ape)),
    pct(inside),
    pct(median(eco)),
    pct(mean(eco)),
    `${(median(eco) / median(ape)).toFixed(1)}×`,
  ]
}

if (!hasMlEnergyData()) {
  console.error(
    `bench:estimate: ML.ENERGY data not found under ${SHARED_DATA_DIR}; nothing to measure`,
  )
  process.exitCode = 2
} else {
  const table = FITTED_PROFILE_TABLE
  const rows = resolveRows(loadMlEnergyRows())
  const heldGroups = new Set(table.heldOut.groups)
  const heldRows = new Set(table.heldOut.rows)

  const parametric: Scored[] = []
  const fitted: Scored[] = []
  for (const row of rows) {
    const hw = findHardware(row.hardware)
    if (hw === undefined) continue
    if (heldGroups.has(row.groupKey)) {
      const profile = parametricProfile(table, {
        model: row.canonicalModel,
        hw,
        precision: row.precision,
        activeParamsB: row.activeB,
        totalParamsB: row.totalB,
        gpus: row.gpus,
        outputTokens: row.outputTokens,
      })
      parametric.push(score(row, profile))
    } else if (heldRows.has(row.rowKey)) {
      const entry = table.profiles.find(
        (p) =>
          [p.dataset, p.task, p.model, p.hardware, p.precision, p.gpus].join('|') === row.groupKey,
      )
      if (entry === undefined) throw new Error(`no fitted entry for ${row.groupKey}`)
      fitted.push(score(row, fittedProfile(table, entry, hw, findModel(entry.model))))
    }
  }

  const header = [
    'estimator (held-out rows)',
    'rows',
    'median APE',
    'mean APE',
    'inside interval',
    'EcoLogits median APE',
    'EcoLogits mean APE',
    'median ratio',
  ]
  const lines = [
    header,
    summarise('parametric (unseen configurations)', parametric),
    summarise('fitted (unseen batch sizes)', fitted),
    summarise('all held-out rows', [...parametric, ...fitted]),
  ]
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)))
  console.log(
    `bench:estimate — energy per output token on ML.ENERGY rows held out of every fit (seed ${table.seed}; ` +
      `${heldGroups.size} configurations, ${heldRows.size} batch sizes)`,
  )
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '))
  console.log(
    `interval: fitted ±${table.fittedIntervalLog.toFixed(3)} ln, parametric ±${table.parametric.energyIntervalLog.toFixed(3)} ln ` +
      `(q${table.fittedIntervalQuantile * 100} of leave-one-out |ln residual| on the training split)`,
  )
  console.log(
    'ratio = EcoLogits median APE / Wattline median APE on the same rows (higher = Wattline closer to the measurement)',
  )
}

/** Leave-one-task-out: refit without each task, predict its rows. */
function leaveOneTaskOut(measured: readonly MeasuredRow[]): void {
  const tasks = [...new Set(measured.map(taskKey))].sort()
  const header = [
    'held-out task',
    'rows',
    'measured curve used',
    'median APE',
    'mean APE',
    'inside interval',
    'median APE, mix ignored',
    'inside, mix ignored',
    'EcoLogits median APE',
    'ratio',
  ]
  const lines: string[][] = [header]
  for (const task of tasks) {
    const table = fitProfileTable(
      measured.filter((r) => taskKey(r) !== task),
      {
        seed: FITTED_PROFILE_TABLE.seed,
        heldOutGroupShare: 0,
        heldOutRowShare: 0,
        intervalQuantile: FITTED_PROFILE_TABLE.fittedIntervalQuantile,
        source: 'bench:estimate leave-one-task-out',
        generatedBy: 'bench/estimate.ts',
      },
    )
    const withMix: Scored[] = []
    const noMix: Scored[] = []
    let fittedUsed = 0
    for (const row of resolveRows(measured.filter((r) => taskKey(r) === task))) {
      const base = {
        model: row.canonicalModel,
        hardware: row.hardware,
        precision: row.precision,
        gpus: row.gpus,
        table,
      }
      const p = resolveProfile({ ...base, outputTokens: row.outputTokens })
      if (p.basis === 'fitted') fittedUsed++
      withMix.push(score(row, p))
      noMix.push(score(row, resolveProfile(base)))
    }
    const a = summarise(task, withMix)
    const b = summarise(task, noMix)
    lines.push([
      task,
      String(withMix.length),
      String(fittedUsed),
      a[2] ?? '',
      a[3] ?? '',
      a[4] ?? '',
      b[2] ?? '',
      b[4] ?? '',
      a[5] ?? '',
      a[7] ?? '',
    ])
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)))
  console.log('')
  console.log(
    'leave-one-task-out — each ML.ENERGY task refitted without, its rows predicted (energy per output token)',
  )
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '))
  console.log(
    'target (issue 12): median APE ≤ 15 % and ≥ 80 % inside the interval on every held-out task',
  )
}

if (hasMlEnergyData()) leaveOneTaskOut(loadMlEnergyRows())

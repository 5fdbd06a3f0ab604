/**
 * `npm run bench:advise`: does `advise` rank configurations it has no measurement for the way the
 * measurements do?
 *
 * For each held-out group (leave-one-hardware-out: every ML.ENERGY row on one GPU model; leave-one-
 * precision-out: every fp8 row), the profile table is refitted without the group. Each measured
 * configuration of the group (model × hardware × precision × GPUs) is then sized by advise's
 * operating model for the workload of its task (the task's mean output length, 1,000 prompt tokens,
 * 20 requests/s all day, batch cap the largest power of two the measurement reached), and ranked
 * within the task — configurations measured under different request mixes are not compared:
 * - predicted: the parametric profile of the table fitted without the group (what advise would use);
 * - measured: the curve fitted to the group's own measurements (the full table), carried to the mix.
 * Spearman's rank correlation of energy per 1,000 requests between the two, per group. Baseline
 * side by side: ranking by active parameters alone (EcoLogits' per-token formula is linear in them).
 * bf16 is not held out: without it only a handful of fp8 configurations remain to fit on.
 */
import {
  evaluateOption,
  findModel,
  fitProfileTable,
  FITTED_PROFILE_TABLE,
  fittedProfile,
  getHardware,
  mixFromSummary,
  parametricProfile,
  type AdviseCandidate,
  type FittedProfileEntry,
  type MeasuredRow,
  type WorkloadMix,
} from '@wattline/core'
import {
  hasMlEnergyData,
  loadMlEnergyRows,
  SHARED_DATA_DIR,
} from '../packages/wattline/scripts/load-mlenergy.ts'

/** The workload of one task: its mean output length, 1,000 prompt tokens, 20 requests/s. */
function mixOf(outputTokens: number): WorkloadMix {
  return mixFromSummary(
    {
      input_tokens: { mean: 1000, p95: 4000 },
      output_tokens: { mean: outputTokens, p95: outputTokens * 3 },
      requests_per_s: 20,
    },
    'bench:advise workload',
  )
}

/** Fewest configurations of one task worth ranking. */
const MIN_CONFIGS = 4

interface Group {
  readonly name: string
  readonly holds: (r: { hardware: string; precision: string }) => boolean
}

const GROUPS: readonly Group[] = [
  { name: 'hardware H100-SXM', holds: (r) => r.hardware === 'H100-SXM' },
  { name: 'hardware B200', holds: (r) => r.hardware === 'B200' },
  { name: 'hardware A100-40GB', holds: (r) => r.hardware === 'A100-40GB' },
  { name: 'precision fp8', holds: (r) => r.precision === 'fp8' },
]

/** Average ranks (ties share the mean rank). */
function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  const r = new Array<number>(xs.length).fill(0)
  for (let i = 0; i < idx.length;) {
    let j = i
    while (j + 1 < idx.length && idx[j + 1]?.[0] === idx[i]?.[0]) j++
    for (let k = i; k <= j; k++) r[idx[k]?.[1] ?? 0] = (i + j) / 2 + 1
    i = j + 1
  }
  return r
}

function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a)
  const rb = ranks(b)
  const mean = (ra.length + 1) / 2
  let num = 0
  let da = 0
  let db = 0
  for (let i = 0; i < ra.length; i++) {
    const x = (ra[i] ?? 0) - mean
    const y = (rb[i] ?? 0) - mean
    num += x * y
    da += x * x
    db += y * y
  }
  return num / Math.sqrt(da * db)
}

function capOf(e: FittedProfileEntry): number {
  let c = 8
  while (c * 2 <= e.maxBatch) c *= 2
  return c
}

function energyPer1k(mix: WorkloadMix, c: AdviseCandidate, cap: number): number {
  return evaluateOption({ mix, candidates: [c], zones: [], pue: 1 }, c, cap)
    .energy_per_1k_requests_wh.value
}

/** `--estimator baseline` refits with the previous parametric estimator (issue 12 comparison). */
const ESTIMATOR: 'request-mix' | 'baseline' = process.argv.includes('baseline')
  ? 'baseline'
  : 'request-mix'

function run(rows: readonly MeasuredRow[]): void {
  const opts = {
    model: ESTIMATOR,
    seed: FITTED_PROFILE_TABLE.seed,
    heldOutGroupShare: 0,
    heldOutRowShare: 0,
    intervalQuantile: FITTED_PROFILE_TABLE.fittedIntervalQuantile,
    source: 'bench:advise',
    generatedBy: 'bench/advise.ts',
  }
  const full = fitProfileTable(rows, opts)
  const header = [
    'held-out group',
    'task (request mix)',
    'configurations',
    'Spearman (advise vs measured)',
    'Spearman (active params only)',
    'ratio',
    'best pick agrees',
  ]
  const lines: string[][] = [header]
  for (const g of GROUPS) {
    const without = fitProfileTable(
      rows.filter((r) => !g.holds(r)),
      opts,
    )
    const tasks = [...new Set(full.profiles.filter(g.holds).map((e) => `${e.dataset}|${e.task}`))]
    let weighted = 0
    let count = 0
    for (const task of tasks.sort()) {
      const configs = full.profiles.filter((e) => g.holds(e) && `${e.dataset}|${e.task}` === task)
      if (configs.length < MIN_CONFIGS) continue
      const outputTokens = configs.reduce((a, e) => a + e.outputTokens, 0) / configs.length
      const mix = mixOf(outputTokens)
      const measured: number[] = []
      const predicted: number[] = []
      const params: number[] = []
      for (const e of configs) {
        const hw = getHardware(e.hardware)
        const spec = findModel(e.model)
        if (spec === undefined) continue
        const cap = capOf(e)
        const m: AdviseCandidate = {
          model: e.model,
          precision: e.precision,
          hardware: hw.id,
          gpus: e.gpus,
          profile: fittedProfile(full, e, hw, spec, outputTokens),
          entry: e,
        }
        const p: AdviseCandidate = {
          model: e.model,
          precision: e.precision,
          hardware: hw.id,
          gpus: e.gpus,
          profile: parametricProfile(without, {
            model: e.model,
            hw,
            precision: e.precision,
            activeParamsB: spec.activeParamsB,
            totalParamsB: spec.totalParamsB,
            gpus: e.gpus,
            outputTokens,
          }),
        }
        measured.push(energyPer1k(mix, m, cap))
        predicted.push(energyPer1k(mix, p, cap))
        params.push(spec.activeParamsB)
      }
      const rho = spearman(predicted, measured)
      const base = spearman(params, measured)
      const argmin = (xs: number[]): number => xs.indexOf(Math.min(...xs))
      weighted += rho * measured.length
      count += measured.length
      lines.push([
        g.name,
        task,
        String(measured.length),
        rho.toFixed(3),
        base.toFixed(3),
        `${(rho / base).toFixed(2)}×`,
        argmin(predicted) === argmin(measured) ? 'yes' : 'no',
      ])
    }
    lines.push([
      g.name,
      'all tasks (weighted by configurations)',
      String(count),
      count > 0 ? (weighted / count).toFixed(3) : '–',
      '',
      '',
      '',
    ])
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)))
  console.log(
    `bench:advise — ranking of held-out ML.ENERGY configurations by energy per 1,000 requests, within each task (its mean output length, 1,000 prompt tokens, 20 req/s; tasks with ≥ ${MIN_CONFIGS} held-out configurations)`,
  )
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '))
  console.log(
    `target (issue 12): Spearman ≥ 0.8 per held-out group (parametric estimator: ${ESTIMATOR})`,
  )
}

if (!hasMlEnergyData()) {
  console.error(
    `bench:advise: ML.ENERGY data not found under ${SHARED_DATA_DIR}; nothing to measure`,
  )
  process.exitCode = 2
} else {
  run(loadMlEnergyRows())
}

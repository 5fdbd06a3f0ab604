/**
 * `npm run bench:advise`: does `advise` rank configurations it has no measurement for the way the
 * measurements do?
 *
 * For each held-out group (leave-one-hardware-out: every ML.ENERGY row on one GPU model; leave-one-
 * precision-out: every fp8 row), the profile table is refitted without the group, and the group's
 * measured configurations (model × hardware × precision × GPUs) are ranked within each task
 * (configurations measured under different request mixes are not compared):
 *
 * - measured: the measured GPU energy per output token of the configuration's run at its largest
 *   measured running batch (the most efficient point it was measured at; the batch cap advise picks
 *   when traffic fills it). A raw measurement: no fitted curve, no request-mix carry, no modelled
 *   prefill. Per 1,000 requests of the task this is × the task's output length, the same for every
 *   configuration of the task, so the per-token ranking is the per-request ranking.
 * - predicted: the energy per output token of the parametric profile of the table fitted without
 *   the group (what advise uses for an unmeasured configuration), at the same running batch and the
 *   run's own mean output length.
 * - common batch: the same, at the largest `max_num_seqs` every configuration of the slice was
 *   measured at (one operating point for all).
 * - previous method (kept for comparison, not the target figure): each configuration sized by
 *   advise's operating model for a synthetic workload (task mean output length, 1,000 prompt
 *   tokens, 20 requests/s), with the "measured" side the configuration's fitted curve carried to
 *   the task's mean output length by the estimator's own request-mix terms plus modelled prefill
 *   energy for the 1,000 prompt tokens (∝ active parameters) — estimator terms on both sides.
 *
 * Spearman's rank correlation per slice, with n, the exact permutation p-value (one-sided,
 * ρ ≥ observed under random ranking; n ≤ 9 enumerated, otherwise 20,000 seeded permutations) and a
 * 95 % interval by Fisher's z with the Fieller–Hartley–Pearson standard error 1.06/√(n−3).
 * Baseline side by side: ranking by active parameters alone (EcoLogits' per-token formula is linear
 * in them). bf16 is not held out: without it only a handful of fp8 configurations remain to fit on.
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
  resolveRows,
  type AdviseCandidate,
  type FittedProfileEntry,
  type MeasuredRow,
  type ProfileTable,
  type ResolvedRow,
  type WorkloadMix,
} from '@wattline/core'
import { permutationP, spearman, spearmanInterval } from './rank-stats.ts'
import {
  hasMlEnergyData,
  loadMlEnergyRows,
  SHARED_DATA_DIR,
} from '../packages/wattline/scripts/load-mlenergy.ts'

/** The previous method's workload: task mean output length, 1,000 prompt tokens, 20 requests/s. */
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

/** Energy per output token (J) of the parametric profile fitted without the group, at a run. */
function predictRun(without: ProfileTable, r: ResolvedRow): number {
  return parametricProfile(without, {
    model: r.canonicalModel,
    hw: getHardware(r.hardware),
    precision: r.precision,
    activeParamsB: r.activeB,
    totalParamsB: r.totalB,
    gpus: r.gpus,
    outputTokens: r.outputTokens,
  }).energyPerOutputToken(r.batch).value
}

interface SliceStats {
  readonly n: number
  readonly rho: number
  readonly p: number
  readonly ci: readonly [number, number] | undefined
}

function stats(pred: readonly number[], meas: readonly number[]): SliceStats {
  const rho = spearman(pred, meas)
  return {
    n: meas.length,
    rho,
    p: permutationP(pred, meas, 20_000, FITTED_PROFILE_TABLE.seed),
    ci: spearmanInterval(rho, meas.length),
  }
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–')
const fmtStats = (s: SliceStats): string =>
  `${f3(s.rho)} [${s.ci === undefined ? '–' : `${f3(s.ci[0])}, ${f3(s.ci[1])}`}] p=${s.p < 0.001 ? '<0.001' : s.p.toFixed(3)}`

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
  const resolved = resolveRows(rows)
  const full = fitProfileTable(rows, opts)
  const header = [
    'held-out group',
    'task (request mix)',
    'n',
    'Spearman at largest measured batch [95 % CI] p',
    'Spearman at common batch',
    'active params only',
    'ratio',
    'best pick agrees (measured excess of the pick)',
    'previous method',
  ]
  const lines: string[][] = [header]
  const detail: string[] = []
  for (const g of GROUPS) {
    const without = fitProfileTable(
      rows.filter((r) => !g.holds(r)),
      opts,
    )
    const held = resolved.filter(g.holds)
    const tasks = [...new Set(held.map((r) => `${r.dataset}|${r.task}`))].sort()
    let wRho = 0
    let wOld = 0
    let count = 0
    for (const task of tasks) {
      const byConfig = new Map<string, ResolvedRow[]>()
      for (const r of held.filter((x) => `${x.dataset}|${x.task}` === task)) {
        const list = byConfig.get(r.groupKey) ?? []
        list.push(r)
        byConfig.set(r.groupKey, list)
      }
      const configs = [...byConfig.entries()].sort(([a], [b]) => a.localeCompare(b))
      if (configs.length < MIN_CONFIGS) continue
      // Largest max_num_seqs every configuration of the slice was measured at (else, per
      // configuration, the run nearest in ln to the smallest of their largest).
      const shared = configs
        .map(([, rs]) => new Set(rs.map((r) => r.maxBatch)))
        .reduce((a, b) => new Set([...a].filter((x) => b.has(x))))
      const common =
        shared.size > 0
          ? Math.max(...shared)
          : Math.min(...configs.map(([, rs]) => Math.max(...rs.map((r) => r.maxBatch))))
      const meas: number[] = []
      const pred: number[] = []
      const measCommon: number[] = []
      const predCommon: number[] = []
      const params: number[] = []
      const oldMeas: number[] = []
      const oldPred: number[] = []
      const outputTokens =
        full.profiles
          .filter((e) => g.holds(e) && `${e.dataset}|${e.task}` === task)
          .reduce((a, e) => a + e.outputTokens, 0) /
        full.profiles.filter((e) => g.holds(e) && `${e.dataset}|${e.task}` === task).length
      const mix = mixOf(outputTokens)
      for (const [key, rs] of configs) {
        const top = rs.reduce((a, r) => (r.batch > a.batch ? r : a))
        const gap = (r: ResolvedRow): number => Math.abs(Math.log(r.maxBatch / common))
        const atCommon = rs.reduce((a, r) => (gap(r) < gap(a) ? r : a))
        meas.push(top.energyPerOutputTokenJ)
        pred.push(predictRun(without, top))
        measCommon.push(atCommon.energyPerOutputTokenJ)
        predCommon.push(predictRun(without, atCommon))
        params.push(top.activeB)
        detail.push(
          `  ${g.name} | ${key} | batch ${top.batch.toFixed(0)}: measured ${top.energyPerOutputTokenJ.toFixed(3)} J/token, predicted ${(pred.at(-1) ?? NaN).toFixed(3)}`,
        )
        // Previous method (workload-sized; measured side carried by estimator terms).
        const e = full.profiles.find(
          (p) => `${p.dataset}|${p.task}|${p.model}|${p.hardware}|${p.precision}|${p.gpus}` === key,
        )
        const spec = findModel(top.model)
        if (e !== undefined && spec !== undefined) {
          const hw = getHardware(e.hardware)
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
          oldMeas.push(energyPer1k(mix, m, cap))
          oldPred.push(energyPer1k(mix, p, cap))
        }
      }
      const s = stats(pred, meas)
      const sc = spearman(predCommon, measCommon)
      const base = spearman(params, meas)
      const old = oldMeas.length === meas.length ? spearman(oldPred, oldMeas) : NaN
      const argmin = (xs: number[]): number => xs.indexOf(Math.min(...xs))
      wRho += s.rho * meas.length
      wOld += old * meas.length
      count += meas.length
      lines.push([
        g.name,
        task,
        String(meas.length),
        fmtStats(s),
        `${f3(sc)} (max_num_seqs ${shared.size > 0 ? common : `≈${common}`})`,
        f3(base),
        `${(s.rho / base).toFixed(2)}×`,
        argmin(pred) === argmin(meas)
          ? 'yes'
          : `no (+${(((meas[argmin(pred)] ?? NaN) / Math.min(...meas) - 1) * 100).toFixed(0)} %)`,
        f3(old),
      ])
    }
    lines.push([
      g.name,
      'all tasks (weighted by configurations)',
      String(count),
      count > 0 ? f3(wRho / count) : '–',
      '',
      '',
      '',
      '',
      count > 0 ? f3(wOld / count) : '–',
    ])
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)))
  console.log(
    `bench:advise — ranking of held-out ML.ENERGY configurations by measured energy per output token (= per 1,000 requests of the task), within each task; tasks with ≥ ${MIN_CONFIGS} held-out configurations`,
  )
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '))
  console.log(
    `target (issue 12): Spearman ≥ 0.8 per held-out group (parametric estimator: ${ESTIMATOR})`,
  )
  if (process.argv.includes('--detail')) for (const d of detail) console.log(d)
  precisionPairs(resolved, opts)
}

/**
 * The fp8-vs-bf16 decision itself: every fp8 configuration with a bf16 sibling of the same base
 * model, hardware, GPUs and task. Measured ratio fp8/bf16 of energy per output token at each
 * `max_num_seqs` both were measured at; predicted ratio from the table fitted without any fp8 row
 * (both sides predicted at the measured running batches and output lengths).
 */
function precisionPairs(
  resolved: readonly ResolvedRow[],
  opts: Parameters<typeof fitProfileTable>[1],
): void {
  const without = fitProfileTable(
    resolved.filter((r) => r.precision !== 'fp8'),
    opts,
  )
  const base = (r: ResolvedRow): string =>
    findModel(r.canonicalModel)?.baseModel ?? r.canonicalModel
  const key = (r: ResolvedRow): string =>
    `${r.dataset}|${r.task}|${base(r)}|${r.hardware}|${r.gpus}`
  const fp8 = resolved.filter((r) => r.precision === 'fp8')
  const bf16 = resolved.filter((r) => r.precision === 'bf16')
  const lines: string[] = []
  for (const k of [...new Set(fp8.map(key))].sort()) {
    const a = fp8.filter((r) => key(r) === k)
    const b = bf16.filter((r) => key(r) === k)
    const pairs = a
      .map((x) => [x, b.find((y) => y.maxBatch === x.maxBatch)] as const)
      .filter((p): p is readonly [ResolvedRow, ResolvedRow] => p[1] !== undefined)
      .sort((p, q) => p[0].maxBatch - q[0].maxBatch)
    if (pairs.length === 0) continue
    const cells = pairs.map(([x, y]) => {
      const measured = x.energyPerOutputTokenJ / y.energyPerOutputTokenJ
      const predicted = predictRun(without, x) / predictRun(without, y)
      return `${x.maxBatch}: ${measured.toFixed(2)} (${predicted.toFixed(2)})`
    })
    lines.push(`  ${k}: ${cells.join(', ')}`)
  }
  console.log('')
  console.log(
    'fp8 / bf16 energy per output token, same model × hardware × GPUs × task, by max_num_seqs: measured (predicted by the fit without fp8)',
  )
  for (const l of lines) console.log(l)
}

if (!hasMlEnergyData()) {
  console.error(
    `bench:advise: ML.ENERGY data not found under ${SHARED_DATA_DIR}; nothing to measure`,
  )
  process.exitCode = 2
} else {
  run(loadMlEnergyRows())
}

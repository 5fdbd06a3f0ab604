/**
 * @module energy/fit-profiles
 * Builds the derived profile table from measured rows: a seeded held-out split, one fitted curve
 * pair per configuration, the calibrated interval of fitted profiles, and the parametric
 * regression with its calibrated interval. Pure: the script that reads the files and writes the
 * table is `packages/wattline/scripts/fit-profiles.ts`.
 */
import { WattlineError } from '../errors.ts'
import { findHardware } from '../catalog/hardware.ts'
import { findModel } from '../catalog/models.ts'
import { seededRandom } from '../ports/random.ts'
import {
  evalDecay,
  fitDecayCurve,
  fitLinearCurve,
  leastAbsoluteDeviations,
  quantile,
  rmsLogError,
  type Point,
} from './curve-fit.ts'
import type { MeasuredRow } from './measurements.ts'
import {
  BASELINE_FEATURES,
  BASELINE_TPOT_FEATURES,
  dot,
  PARAMETRIC_FEATURES,
  PARAMETRIC_TPOT_FEATURES,
  parametricFeatures,
  parametricTpotFeatures,
  supportKey,
  type ParametricInput,
} from './parametric.ts'
import type { FittedProfileEntry, ParametricCoefficients, ProfileTable } from './profile-table.ts'

export interface FitOptions {
  readonly seed: number
  /** Share of configurations held out of the parametric fit (0–1). */
  readonly heldOutGroupShare: number
  /** Share of interior rows of each remaining configuration held out of its curve fit (0–1). */
  readonly heldOutRowShare: number
  /** Quantile of |ln residual| that sets the interval half-widths. */
  readonly intervalQuantile: number
  readonly source: string
  readonly generatedBy: string
  /**
   * `request-mix` (default): the current estimator (batch curvature and output-length × batch
   * terms, configurations weighed alike, Mondrian interval). `baseline`: the previous one (no such
   * terms, rows weighed alike, one interval), kept for `npm run bench:estimate`.
   */
  readonly model?: ParametricModel
}

export type ParametricModel = 'request-mix' | 'baseline'

/** A hardware × precision cell seen in fewer configurations than this is rarely seen. */
export const THIN_SUPPORT_CONFIGURATIONS = 5

/** A measured row with its canonical model and parameter counts resolved. */
export interface ResolvedRow extends MeasuredRow {
  readonly canonicalModel: string
  readonly activeB: number
  readonly totalB: number
  readonly groupKey: string
  readonly rowKey: string
}

/** Canonical ids and parameter counts for each row; unknown models are `WL_UNKNOWN_MODEL`. */
export function resolveRows(rows: readonly MeasuredRow[]): ResolvedRow[] {
  return rows.map((r) => {
    const spec = findModel(r.model)
    if (spec === undefined) {
      throw new WattlineError(
        'WL_UNKNOWN_MODEL',
        `model "${r.model}" of the data is not catalogued`,
        {
          details: { model: r.model, matches: [] },
        },
      )
    }
    const groupKey = [r.dataset, r.task, spec.id, r.hardware, r.precision, r.gpus].join('|')
    return {
      ...r,
      canonicalModel: spec.id,
      activeB: r.activeParamsB ?? spec.activeParamsB,
      totalB: r.totalParamsB ?? spec.totalParamsB,
      groupKey,
      rowKey: `${groupKey}|${r.maxBatch}`,
    }
  })
}

function rowInput(r: ResolvedRow): ParametricInput {
  const hw = findHardware(r.hardware)
  if (hw === undefined) throw new RangeError(`unknown hardware ${r.hardware}`)
  return {
    activeParamsB: r.activeB,
    totalParamsB: r.totalB,
    precision: r.precision,
    hardware: hw,
    gpus: r.gpus,
    batch: r.batch,
    outputTokens: r.outputTokens,
  }
}

/** Energy features of a resolved row for the parametric regression. */
export function rowFeatures(r: ResolvedRow, names?: readonly string[]): number[] {
  return parametricFeatures(rowInput(r), names)
}

/** Latency features of a resolved row. */
export function rowTpotFeatures(r: ResolvedRow, names?: readonly string[]): number[] {
  return parametricTpotFeatures(rowInput(r), names)
}

/** The task a row measured (`dataset|task`): one request mix. */
export function taskKey(r: MeasuredRow): string {
  return `${r.dataset}|${r.task}`
}

/** Fits the whole table. Deterministic for a given `rows` order-independent content and seed. */
export function fitProfileTable(rows: readonly MeasuredRow[], options: FitOptions): ProfileTable {
  const resolved = resolveRows(rows)
  const groups = groupBy(resolved, (r) => r.groupKey)
  const keys = [...groups.keys()].sort()
  const rng = seededRandom(options.seed)
  const shuffled = shuffle(keys, () => rng.next())
  const heldGroups = new Set(shuffled.slice(0, Math.round(keys.length * options.heldOutGroupShare)))

  const heldRows = new Set<string>()
  for (const key of keys) {
    if (heldGroups.has(key)) continue
    const sorted = [...(groups.get(key) ?? [])].sort((a, b) => a.batch - b.batch)
    if (sorted.length < 5) continue
    const interior = shuffle(
      sorted.slice(1, -1).map((r) => r.rowKey),
      () => rng.next(),
    )
    for (const k of interior.slice(0, Math.floor(sorted.length * options.heldOutRowShare))) {
      heldRows.add(k)
    }
  }

  const profiles: FittedProfileEntry[] = keys.map((key) => {
    const all = groups.get(key) ?? []
    return fitEntry(all.filter((r) => !heldRows.has(r.rowKey)))
  })

  const fittedResiduals: number[] = []
  for (const key of keys) {
    if (heldGroups.has(key)) continue
    const train = (groups.get(key) ?? []).filter((r) => !heldRows.has(r.rowKey))
    if (train.length < 5) continue
    const sorted = [...train].sort((a, b) => a.batch - b.batch)
    for (let i = 1; i < sorted.length - 1; i++) {
      const rest = sorted.filter((_, j) => j !== i)
      const curve = fitDecayCurve(rest.map(energyPoint))
      const r = sorted[i]
      if (r !== undefined) {
        fittedResiduals.push(
          Math.abs(Math.log(evalDecay(curve, r.batch) / r.energyPerOutputTokenJ)),
        )
      }
    }
  }

  const trainRows = resolved.filter((r) => !heldGroups.has(r.groupKey) && !heldRows.has(r.rowKey))
  const parametric = fitParametric(trainRows, options.intervalQuantile, options.model)

  return {
    source: options.source,
    generatedBy: options.generatedBy,
    seed: options.seed,
    fittedIntervalLog: Math.max(0.05, quantile(fittedResiduals, options.intervalQuantile)),
    fittedIntervalQuantile: options.intervalQuantile,
    profiles,
    parametric,
    heldOut: { groups: [...heldGroups].sort(), rows: [...heldRows].sort() },
  }
}

/**
 * Fits the parametric regression (least absolute deviations in ln space) and calibrates its
 * interval on rows it did not see (split-conformal): the larger of the q-quantile of |ln residual|
 * leaving one task (request mix) out at a time and leaving one configuration out at a time. With a
 * single training task only the latter applies.
 *
 * `request-mix` (default) weighs each configuration alike and calibrates two strata apart
 * (Mondrian): rows whose hardware × precision had at least {@link THIN_SUPPORT_CONFIGURATIONS}
 * configurations in the fit that predicted them, and rows whose cell was rarer. The rare stratum's
 * width is never below the common one's; with fewer than 10 such residuals it is 1.5 × the common
 * width (a stated rule). `baseline` is the previous estimator: rows weighed alike, one width.
 */
export function fitParametric(
  rows: readonly ResolvedRow[],
  intervalQuantile: number,
  model: ParametricModel = 'request-mix',
): ParametricCoefficients {
  const mix = model === 'request-mix'
  const names = mix ? PARAMETRIC_FEATURES : BASELINE_FEATURES
  const tpotNames = mix ? PARAMETRIC_TPOT_FEATURES : BASELINE_TPOT_FEATURES
  const X = rows.map((r) => rowFeatures(r, names))
  const Xt = rows.map((r) => rowTpotFeatures(r, tpotNames))
  const yE = rows.map((r) => Math.log(r.energyPerOutputTokenJ))
  const yT = rows.map((r) => Math.log(r.timePerOutputTokenMs))
  const groupSize = new Map<string, number>()
  for (const r of rows) groupSize.set(r.groupKey, (groupSize.get(r.groupKey) ?? 0) + 1)
  const weights = rows.map((r) => (mix ? 1 / (groupSize.get(r.groupKey) ?? 1) : 1))
  const fit = (Xs: readonly number[][], ys: readonly number[], idx: readonly number[]): number[] =>
    leastAbsoluteDeviations(
      idx.map((i) => Xs[i] ?? []),
      idx.map((i) => ys[i] ?? 0),
      50,
      0.02,
      idx.map((i) => weights[i] ?? 1),
    )
  const all = rows.map((_, i) => i)
  const energy = fit(X, yE, all)
  const tpot = fit(Xt, yT, all)

  interface Residuals {
    readonly common: number[]
    readonly thin: number[]
    readonly tpot: number[]
  }
  const heldOutResiduals = (key: (r: ResolvedRow) => string): Residuals => {
    const out: Residuals = { common: [], thin: [], tpot: [] }
    const keys = [...new Set(rows.map(key))].sort()
    if (keys.length < 2) return out
    for (const g of keys) {
      const inIdx: number[] = []
      const outIdx: number[] = []
      rows.forEach((r, i) => (key(r) === g ? outIdx : inIdx).push(i))
      const thE = fit(X, yE, inIdx)
      const thT = fit(Xt, yT, inIdx)
      const support = supportCounts(inIdx.map((i) => rows[i] as ResolvedRow))
      for (const i of outIdx) {
        const r = rows[i] as ResolvedRow
        const res = Math.abs((yE[i] ?? 0) - dot(thE, X[i] ?? []))
        const thin =
          mix &&
          (support.get(supportKey(r.hardware, r.precision)) ?? 0) < THIN_SUPPORT_CONFIGURATIONS
        ;(thin ? out.thin : out.common).push(res)
        out.tpot.push(Math.abs((yT[i] ?? 0) - dot(thT, Xt[i] ?? [])))
      }
    }
    return out
  }
  const byConfig = heldOutResiduals((r) => r.groupKey)
  const byTask = heldOutResiduals(taskKey)
  const q = (a: readonly number[]): number => (a.length > 0 ? quantile(a, intervalQuantile) : 0)
  const commonWidth = Math.max(q(byConfig.common), q(byTask.common))
  const thinResiduals = [byConfig.thin, byTask.thin].filter((a) => a.length >= 10)
  const thinWidth = Math.max(
    commonWidth,
    ...(thinResiduals.length > 0 ? thinResiduals.map(q) : [1.5 * commonWidth]),
  )
  const featureRanges = names.map((_, j) => {
    const col = X.map((x) => x[j] ?? 0)
    return [Math.min(...col), Math.max(...col)] as const
  })
  const groupKeys = new Set(rows.map((r) => r.groupKey))
  const support = supportCounts(rows)
  return {
    features: [...names],
    tpotFeatures: [...tpotNames],
    energy: energy.map(round6),
    tpot: tpot.map(round6),
    energyIntervalLog: round6(commonWidth),
    ...(mix
      ? {
          energyThinIntervalLog: round6(thinWidth),
          support: Object.fromEntries(
            [...support.entries()].sort(([a], [b]) => a.localeCompare(b)),
          ),
          thinSupport: THIN_SUPPORT_CONFIGURATIONS,
          weighting: 'configuration' as const,
        }
      : { weighting: 'row' as const }),
    tpotIntervalLog: round6(Math.max(q(byConfig.tpot), q(byTask.tpot))),
    referenceOutputTokens: round6(
      quantile(
        rows.map((r) => r.outputTokens),
        0.5,
      ),
    ),
    intervalQuantile,
    featureRanges: featureRanges.map(([a, b]) => [round6(a), round6(b)] as const),
    trainingRows: rows.length,
    trainingGroups: groupKeys.size,
  }
}

/** Configurations per hardware × precision cell. */
function supportCounts(rows: readonly ResolvedRow[]): Map<string, number> {
  const seen = new Map<string, Set<string>>()
  for (const r of rows) {
    const k = supportKey(r.hardware, r.precision)
    const s = seen.get(k) ?? new Set<string>()
    s.add(r.groupKey)
    seen.set(k, s)
  }
  return new Map([...seen.entries()].map(([k, s]) => [k, s.size]))
}

function fitEntry(rows: readonly ResolvedRow[]): FittedProfileEntry {
  const first = rows[0]
  if (first === undefined) throw new RangeError('fitEntry: no rows')
  const points = rows.map(energyPoint)
  const energy = fitDecayCurve(points)
  const tpot = fitLinearCurve(rows.map((r) => ({ x: r.batch, y: r.timePerOutputTokenMs })))
  const batches = rows.map((r) => r.batch)
  return {
    model: first.canonicalModel,
    hardware: first.hardware,
    precision: first.precision,
    gpus: first.gpus,
    dataset: first.dataset,
    task: first.task,
    minBatch: round6(Math.min(...batches)),
    maxBatch: round6(Math.max(...batches)),
    points: rows.length,
    outputTokens: round6(rows.reduce((a, r) => a + r.outputTokens, 0) / rows.length),
    energy: { a: round6(energy.a), k: energy.k, c: round6(energy.c) },
    tpot: { t0: round6(tpot.t0), t1: round6(tpot.t1) },
    rmsLogError: round6(rmsLogError(points, (b) => evalDecay(energy, b))),
  }
}

function energyPoint(r: MeasuredRow): Point {
  return { x: r.batch, y: r.energyPerOutputTokenJ }
}

function round6(v: number): number {
  return Number(v.toPrecision(6))
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>()
  for (const it of items) {
    const k = key(it)
    const list = m.get(k)
    if (list === undefined) m.set(k, [it])
    else list.push(it)
  }
  return m
}

/** Fisher–Yates with an injected uniform source. */
function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    const t = a[i] as T
    a[i] = a[j] as T
    a[j] = t
  }
  return a
}

/**
 * @module energy/resolve
 * `resolveProfile`: the energy profile of a (model, hardware, precision) triple: fitted to
 * ML.ENERGY measurements where that triple was measured, otherwise the parametric estimator with
 * its wider interval. Models the catalogue does not know can still be estimated when their
 * active parameter count is given.
 */
import { FITTED_PROFILE_TABLE } from '../catalog/data/fitted-profiles.ts'
import { getHardware, type HardwareSpec } from '../catalog/hardware.ts'
import { findModel, MODELS, unknownModel, type ModelSpec } from '../catalog/models.ts'
import { WattlineError } from '../errors.ts'
import { buildProfile, EXTRAPOLATION_WIDENING } from './build-profile.ts'
import { evalDecay, evalLinear } from './curve-fit.ts'
import {
  checkEdgePrecision,
  edgeProfile,
  EDGE_MEASUREMENTS,
  findEdgeMeasurement,
} from './edge-profile.ts'
import {
  BYTES_PER_PARAM,
  dot,
  isThinSupport,
  outputMixLogShift,
  outputMixLogShiftTpot,
  parametricFeatures,
  parametricIntervalLog,
  parametricLogEnergy,
  parametricTpotFeatures,
  replicaGpus,
  type ParametricInput,
} from './parametric.ts'
import type { FittedProfileEntry, ProfileTable } from './profile-table.ts'
import { PRECISIONS, type EnergyProfile, type Precision } from './profile.ts'

export interface ResolveProfileInput {
  /** HF id or alias; uncatalogued ids need `activeParamsB`. */
  readonly model: string
  /** Hardware catalogue id or alias. */
  readonly hardware: string
  /** Defaults to the checkpoint's precision (`fp8` for `-FP8` checkpoints), else bf16. */
  readonly precision?: Precision
  /** Active parameters, billions: overrides the catalogue and enables uncatalogued models. */
  readonly activeParamsB?: number
  /** Total parameters, billions (uncatalogued MoE models); defaults to `activeParamsB`. */
  readonly totalParamsB?: number
  /** GPUs of one replica; defaults to the smallest measured, else the fewest that hold the weights. */
  readonly gpus?: number
  /**
   * Mean output tokens per request of the workload (its request mix). A measured profile is carried
   * to this mix by the regression's output-length term, with a wider interval; the parametric
   * estimator takes it as a feature. Absent: measured profiles as measured, parametric at the
   * training median.
   */
  readonly outputTokens?: number
  /** The table to use (tests); defaults to the committed one. */
  readonly table?: ProfileTable
}

/**
 * Extra ln half-width per e-fold between the measured and the requested mean output length, when a
 * measured profile is carried to another request mix (a stated rule, not a fit).
 */
export const MIX_SHIFT_WIDENING = 0.25

const DATASET_RANK: Readonly<Record<string, number>> = {
  'mlenergy-benchmark-v3': 0,
  'mlenergy-leaderboard-v2': 1,
}

/** Resolves a profile; throws `WL_UNKNOWN_MODEL`, `WL_UNKNOWN_HARDWARE` or `WL_INVALID_INPUT`. */
export function resolveProfile(input: ResolveProfileInput): EnergyProfile {
  const table = input.table ?? FITTED_PROFILE_TABLE
  const hw = getHardware(input.hardware)
  if (input.precision !== undefined && !PRECISIONS.includes(input.precision)) {
    throw new WattlineError('WL_INVALID_INPUT', `unknown precision "${String(input.precision)}"`, {
      details: { field: 'precision', allowed: PRECISIONS },
    })
  }
  checkPositive('activeParamsB', input.activeParamsB)
  checkPositive('totalParamsB', input.totalParamsB)
  checkPositive('gpus', input.gpus)
  checkPositive('outputTokens', input.outputTokens)
  const spec = findModel(input.model)
  if (spec === undefined && input.activeParamsB === undefined) throw unknownModel(input.model)
  if (hw.kind === 'edge') return resolveEdgeProfile(table, input, hw, spec)
  const precision = input.precision ?? spec?.defaultPrecision ?? 'bf16'

  if (spec !== undefined && input.activeParamsB === undefined) {
    const entry = pickFitted(table, spec, hw, precision, input.gpus)
    if (entry !== undefined) return fittedProfile(table, entry, hw, spec, input.outputTokens)
  }
  const activeParamsB = input.activeParamsB ?? spec?.activeParamsB ?? 0
  const totalParamsB = Math.max(
    activeParamsB,
    input.totalParamsB ??
      (input.activeParamsB !== undefined ? input.activeParamsB : spec?.totalParamsB) ??
      activeParamsB,
  )
  return parametricProfile(table, {
    model: spec?.id ?? input.model,
    hw,
    precision,
    activeParamsB,
    totalParamsB,
    gpus: input.gpus ?? replicaGpus(hw, totalParamsB, precision),
    outputTokens: input.outputTokens,
  })
}

/** All fitted configurations of the table, for listing (`wattline profiles`). */
export function fittedEntries(
  table: ProfileTable = FITTED_PROFILE_TABLE,
): readonly FittedProfileEntry[] {
  return table.profiles
}

/**
 * The profile of one fitted table entry, optionally carried to a request mix of `outputTokens` mean
 * output tokens per request (see {@link outputMixLogShift}).
 */
export function fittedProfile(
  table: ProfileTable,
  entry: FittedProfileEntry,
  hw: HardwareSpec = getHardware(entry.hardware),
  spec: ModelSpec | undefined = findModel(entry.model),
  outputTokens?: number,
): EnergyProfile {
  const to = outputTokens ?? entry.outputTokens
  const shiftE = (b: number): number =>
    Math.exp(outputMixLogShift(table.parametric, entry.outputTokens, to, b))
  const shiftT = (b: number): number =>
    Math.exp(outputMixLogShiftTpot(table.parametric, entry.outputTokens, to, b))
  const efolds = Math.abs(Math.log(to / entry.outputTokens))
  const mixNote =
    efolds < 1e-9
      ? ''
      : `; carried from ${Math.round(entry.outputTokens)} to ${Math.round(to)} mean output tokens by the regression's request-mix terms`
  return buildProfile({
    model: entry.model,
    hardware: hw,
    precision: entry.precision,
    basis: 'fitted',
    source: `fitted: ${entry.dataset} ${entry.task}, ${entry.points} runs, ${entry.gpus}× ${entry.hardware}${mixNote} (${table.generatedBy})`,
    gpus: entry.gpus,
    activeParamsB: spec?.activeParamsB ?? 1,
    minBatch: entry.minBatch,
    maxBatch: entry.maxBatch,
    energyAt: (b) => evalDecay(entry.energy, b) * shiftE(b),
    tpotAt: (b) => evalLinear(entry.tpot, b) * shiftT(b),
    intervalLog: table.fittedIntervalLog + MIX_SHIFT_WIDENING * efolds,
  })
}

/**
 * An edge module's profile: the published batch-1 measurement where one exists (precision defaults
 * to the measured one), else the parametric estimator held to batch 1 on one module, with its
 * interval widened for the batch it was never trained at. Throws `WL_INVALID_INPUT` when the model
 * does not fit the module's memory or the module cannot run the precision.
 */
function resolveEdgeProfile(
  table: ProfileTable,
  input: ResolveProfileInput,
  hw: HardwareSpec,
  spec: ModelSpec | undefined,
): EnergyProfile {
  const measuredPrecision =
    spec === undefined
      ? undefined
      : EDGE_MEASUREMENTS.find(
          (m) => m.hardware === hw.id && (m.model === spec.id || m.model === spec.baseModel),
        )?.precision
  const precision = input.precision ?? measuredPrecision ?? spec?.defaultPrecision ?? 'bf16'
  checkEdgePrecision(hw, precision)
  if (spec !== undefined && input.activeParamsB === undefined) {
    const m = findEdgeMeasurement(spec, hw, precision)
    if (m !== undefined) return edgeProfile(m, hw)
  }
  const activeParamsB = input.activeParamsB ?? spec?.activeParamsB ?? 0
  const totalParamsB = Math.max(activeParamsB, input.totalParamsB ?? spec?.totalParamsB ?? 0)
  const needGb = totalParamsB * BYTES_PER_PARAM[precision] * 1.25
  if (needGb > hw.memoryGb) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${spec?.id ?? input.model} in ${precision} needs about ${Math.ceil(needGb)} GB (weights + 25 %), more than ${hw.id}'s ${hw.memoryGb} GB; edge modules do not shard a model`,
      { details: { field: 'hardware', hardware: hw.id, need_gb: needGb } },
    )
  }
  return parametricProfile(table, {
    model: spec?.id ?? input.model,
    hw,
    precision,
    activeParamsB,
    totalParamsB,
    gpus: 1,
    outputTokens: input.outputTokens,
    maxBatch: 1,
  })
}

interface ParametricArgs {
  readonly model: string
  readonly hw: HardwareSpec
  readonly precision: Precision
  readonly activeParamsB: number
  readonly totalParamsB: number
  readonly gpus: number
  /** Mean output tokens per request; defaults to the training median. */
  readonly outputTokens?: number | undefined
  /**
   * Largest batch the deployment runs (edge modules: 1). Below the smallest trained batch (8) the
   * interval widens by {@link EXTRAPOLATION_WIDENING} per e-fold.
   */
  readonly maxBatch?: number
}

/** The parametric profile of a configuration no measurement covers. */
export function parametricProfile(table: ProfileTable, args: ParametricArgs): EnergyProfile {
  const coef = table.parametric
  const outputTokens = args.outputTokens ?? coef.referenceOutputTokens
  const input = (b: number): ParametricInput => ({
    activeParamsB: args.activeParamsB,
    totalParamsB: args.totalParamsB,
    precision: args.precision,
    hardware: args.hw,
    gpus: args.gpus,
    batch: b,
    outputTokens,
  })
  const features = (b: number): number[] => parametricFeatures(input(b), coef.features)
  const thin = isThinSupport(coef, args.hw.id, args.precision)
  const maxBatch = args.maxBatch ?? 1024
  const intervalLog =
    parametricIntervalLog(coef, features(1), thin) +
    (maxBatch < 8 ? EXTRAPOLATION_WIDENING * Math.log(8 / maxBatch) : 0)
  return buildProfile({
    model: args.model,
    hardware: args.hw,
    precision: args.precision,
    basis: 'parametric',
    source: `parametric: ${args.activeParamsB} B active params, ${args.precision}, ${args.gpus}× ${args.hw.id}, ${Math.round(outputTokens)} mean output tokens, regression on ${coef.trainingGroups} ML.ENERGY configurations${thin ? `, ${args.hw.id} ${args.precision} rarely measured (wider interval)` : ''} (${table.generatedBy})`,
    gpus: args.gpus,
    activeParamsB: args.activeParamsB,
    minBatch: Math.min(8, maxBatch),
    maxBatch,
    energyAt: (b) => Math.exp(parametricLogEnergy(coef, features(b))),
    tpotAt: (b) => Math.exp(dot(coef.tpot, parametricTpotFeatures(input(b), coef.tpotFeatures))),
    intervalLog,
  })
}

/**
 * The fitted entry `resolveProfile` serves for a model (or its quantised siblings) on a hardware in
 * a precision, optionally with a GPU count; `undefined` when none was measured.
 */
export function findFittedEntry(
  table: ProfileTable,
  spec: ModelSpec,
  hw: HardwareSpec,
  precision: Precision,
  gpus?: number,
): FittedProfileEntry | undefined {
  return pickFitted(table, spec, hw, precision, gpus)
}

function pickFitted(
  table: ProfileTable,
  spec: ModelSpec,
  hw: HardwareSpec,
  precision: Precision,
  gpus: number | undefined,
): FittedProfileEntry | undefined {
  const ids = new Set([spec.id])
  for (const m of MODELS) {
    if (m.baseModel === spec.id || (spec.baseModel !== undefined && m.id === spec.baseModel))
      ids.add(m.id)
  }
  const candidates = table.profiles.filter(
    (p) =>
      ids.has(p.model) &&
      p.hardware === hw.id &&
      p.precision === precision &&
      (gpus === undefined || p.gpus === gpus),
  )
  candidates.sort(
    (a, b) =>
      (a.model === spec.id ? 0 : 1) - (b.model === spec.id ? 0 : 1) ||
      (DATASET_RANK[a.dataset] ?? 9) - (DATASET_RANK[b.dataset] ?? 9) ||
      a.gpus - b.gpus ||
      b.points - a.points ||
      a.task.localeCompare(b.task),
  )
  return candidates[0]
}

function checkPositive(field: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0)) {
    throw new WattlineError('WL_INVALID_INPUT', `${field} must be a positive number, got ${v}`, {
      details: { field },
    })
  }
}

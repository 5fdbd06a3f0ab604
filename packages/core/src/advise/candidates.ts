/**
 * @module advise/candidates
 * The deployable configurations `wattline advise` compares: model variant × precision × hardware ×
 * GPUs per replica, each with the energy profile that backs it: a measured (fitted) profile where
 * ML.ENERGY measured that configuration, else the parametric extrapolation — never silently.
 */
import { FITTED_PROFILE_TABLE } from '../catalog/data/fitted-profiles.ts'
import { getHardware, HARDWARE, type HardwareSpec } from '../catalog/hardware.ts'
import { findModel, MODELS, type ModelSpec } from '../catalog/models.ts'
import { WattlineError } from '../errors.ts'
import { replicaGpus } from '../energy/parametric.ts'
import type { FittedProfileEntry, ProfileTable } from '../energy/profile-table.ts'
import { PRECISIONS, type EnergyProfile, type Precision } from '../energy/profile.ts'
import { fittedProfile, parametricProfile, resolveProfile } from '../energy/resolve.ts'
import {
  EDGE_MEASUREMENTS,
  EDGE_PRECISIONS,
  edgeProfile,
  findEdgeMeasurement,
  type EdgeMeasurement,
} from '../energy/edge-profile.ts'
import { hasCode } from '../errors.ts'

export interface AdviseCandidate {
  /** Canonical model id of the variant. */
  readonly model: string
  readonly precision: Precision
  readonly hardware: string
  /** GPUs of one replica. */
  readonly gpus: number
  readonly profile: EnergyProfile
  /** The measured configuration behind a fitted profile; absent for an extrapolation. */
  readonly entry?: FittedProfileEntry
  /** `edge`: one module per replica, batch 1, no PUE. Absent: `cloud`. */
  readonly placement?: AdvisePlacement
  /** The published edge measurement behind an edge profile (rates measured, power not). */
  readonly edge?: EdgeMeasurement
}

export const ADVISE_PLACEMENTS = ['cloud', 'edge'] as const
export type AdvisePlacement = (typeof ADVISE_PLACEMENTS)[number]

/** Precisions tried on an edge module when none are given. */
const EDGE_DEFAULT_PRECISIONS = ['int4', 'int8', 'fp16'] as const

export interface CandidateQuery {
  /** Models the user accepts (ids or aliases); their quantised siblings are added. */
  readonly models: readonly string[]
  /** Restrict to these hardware ids/aliases; default: every hardware a variant was measured on. */
  readonly hardware?: readonly string[]
  /** Restrict to these precisions; default: every measured precision plus each checkpoint's own. */
  readonly precisions?: readonly string[]
  /** Mean output tokens per request of the workload (measured profiles are carried to it). */
  readonly outputTokens: number
  /**
   * Where deployments may run; default `cloud` only. Naming an edge module in `hardware` adds
   * `edge`; naming only edge modules there leaves the cloud out.
   */
  readonly placements?: readonly AdvisePlacement[]
  readonly table?: ProfileTable
}

const DATASET_RANK: Readonly<Record<string, number>> = {
  'mlenergy-benchmark-v3': 0,
  'mlenergy-leaderboard-v2': 1,
}

/** Models with at least one measured profile in the table (for messages). */
export function measuredModels(table: ProfileTable = FITTED_PROFILE_TABLE): string[] {
  return [...new Set(table.profiles.map((p) => p.model))].sort()
}

/**
 * Every candidate for the query. Throws `WL_UNKNOWN_MODEL` / `WL_UNKNOWN_HARDWARE` /
 * `WL_INVALID_INPUT` (precision) listing the known names, and `WL_NO_MEASURED_PROFILE` when no
 * variant has a measured profile on the allowed hardware and precisions (advise does not rank
 * extrapolations alone).
 */
export function adviseCandidates(query: CandidateQuery): AdviseCandidate[] {
  const table = query.table ?? FITTED_PROFILE_TABLE
  const specs = query.models.map((m) => modelOrThrow(m, table))
  const hwAll = query.hardware?.map(getHardware)
  const edgeHw = hwAll?.filter((h) => h.kind === 'edge') ?? []
  const cloudHw = hwAll?.filter((h) => h.kind !== 'edge')
  const hwFilter = cloudHw !== undefined && cloudHw.length > 0 ? cloudHw : undefined
  const placements = query.placements ?? ['cloud']
  const withCloud = placements.includes('cloud') && (hwAll === undefined || hwFilter !== undefined)
  const withEdge = placements.includes('edge') || edgeHw.length > 0
  const precFilter = query.precisions?.map(parseAdvisePrecision)
  const family = new Map<string, ModelSpec>()
  for (const spec of specs) for (const m of familyOf(spec)) family.set(m.id, m)

  const measured = new Map<string, FittedProfileEntry>()
  for (const e of table.profiles) {
    if (!withCloud || !family.has(e.model)) continue
    if (hwFilter !== undefined && !hwFilter.some((h) => h.id === e.hardware)) continue
    if (precFilter !== undefined && !precFilter.includes(e.precision)) continue
    const key = [e.model, e.hardware, e.precision, e.gpus].join('|')
    const prev = measured.get(key)
    if (prev === undefined || better(e, prev)) measured.set(key, e)
  }
  const edgeOut = withEdge
    ? edgeCandidates(specs, edgeHw.length > 0 ? edgeHw : undefined, precFilter, query, table)
    : []
  if (measured.size === 0 && !edgeOut.some((c) => c.edge !== undefined)) {
    const names = specs.map((s) => s.id).join(', ')
    const where = [
      hwAll === undefined ? '' : ` on ${hwAll.map((h) => h.id).join(', ')}`,
      precFilter === undefined ? '' : ` in ${precFilter.join(', ')}`,
    ].join('')
    throw new WattlineError(
      'WL_NO_MEASURED_PROFILE',
      `no measured energy profile for ${names}${where}; advise ranks configurations only next to measured ones (models with measured profiles: ${measuredModels(table).join(', ')})`,
      { details: { models: specs.map((s) => s.id), known: measuredModels(table) } },
    )
  }

  const out: AdviseCandidate[] = []
  for (const e of [...measured.values()].sort(byKey)) {
    const hw = getHardware(e.hardware)
    out.push({
      model: e.model,
      precision: e.precision,
      hardware: hw.id,
      gpus: e.gpus,
      profile: fittedProfile(table, e, hw, findModel(e.model), query.outputTokens),
      entry: e,
    })
  }
  const hwSet: HardwareSpec[] = !withCloud
    ? []
    : (hwFilter ?? [...new Set([...measured.values()].map((e) => e.hardware))].map(getHardware))
  for (const spec of specs) {
    const precSet = precFilter ?? [
      ...new Set([
        spec.defaultPrecision,
        ...[...measured.values()].filter((e) => e.model === spec.id).map((e) => e.precision),
      ]),
    ]
    for (const hw of hwSet) {
      for (const precision of precSet) {
        const covered = out.some(
          (c) =>
            c.hardware === hw.id &&
            c.precision === precision &&
            (c.model === spec.id || familyOf(spec).some((m) => m.id === c.model)),
        )
        if (covered) continue
        const gpus = replicaGpus(hw, spec.totalParamsB, precision)
        out.push({
          model: spec.id,
          precision,
          hardware: hw.id,
          gpus,
          profile: parametricProfile(table, {
            model: spec.id,
            hw,
            precision,
            activeParamsB: spec.activeParamsB,
            totalParamsB: spec.totalParamsB,
            gpus,
            outputTokens: query.outputTokens,
          }),
        })
      }
    }
  }
  return [...out, ...edgeOut]
}

/**
 * Edge configurations: every variant of the models × edge module (`hardware`, else every edge
 * module in the catalogue) × precision the module runs that fits its memory — the published
 * measurement where there is one, else the parametric extrapolation held to batch 1.
 */
function edgeCandidates(
  specs: readonly ModelSpec[],
  hardware: readonly HardwareSpec[] | undefined,
  precisions: readonly Precision[] | undefined,
  query: CandidateQuery,
  table: ProfileTable,
): AdviseCandidate[] {
  const devices = hardware ?? HARDWARE.filter((h) => h.kind === 'edge')
  const out: AdviseCandidate[] = []
  const seen = new Set<string>()
  for (const spec of specs) {
    for (const variant of familyOf(spec)) {
      for (const hw of devices) {
        const measuredPrecisions = EDGE_MEASUREMENTS.filter(
          (m) => m.hardware === hw.id && m.model === variant.id,
        ).map((m) => m.precision)
        const precs = precisions ?? [
          ...new Set([...measuredPrecisions, ...EDGE_DEFAULT_PRECISIONS]),
        ]
        for (const precision of precs) {
          if (!EDGE_PRECISIONS.includes(precision)) continue
          const key = [variant.id, hw.id, precision].join('|')
          if (seen.has(key)) continue
          seen.add(key)
          const m = findEdgeMeasurement(variant, hw, precision)
          if (m !== undefined) {
            out.push({
              model: variant.id,
              precision,
              hardware: hw.id,
              gpus: 1,
              profile: edgeProfile(m, hw),
              placement: 'edge',
              edge: m,
            })
            continue
          }
          try {
            const profile = resolveProfile({
              model: variant.id,
              hardware: hw.id,
              precision,
              outputTokens: query.outputTokens,
              table,
            })
            out.push({
              model: variant.id,
              precision,
              hardware: hw.id,
              gpus: 1,
              profile,
              placement: 'edge',
            })
          } catch (e) {
            // A variant that does not fit the module's memory is not a configuration.
            if (!hasCode(e, 'WL_INVALID_INPUT')) throw e
          }
        }
      }
    }
  }
  return out
}

/** The model and its quantised siblings (same base model). */
export function familyOf(spec: ModelSpec): ModelSpec[] {
  const base = spec.baseModel ?? spec.id
  return MODELS.filter((m) => m.id === base || m.baseModel === base || m.id === spec.id)
}

function modelOrThrow(id: string, table: ProfileTable): ModelSpec {
  const spec = findModel(id)
  if (spec !== undefined) return spec
  const known = measuredModels(table)
  throw new WattlineError(
    'WL_UNKNOWN_MODEL',
    `unknown model "${id}" (models with measured profiles: ${known.join(', ')})`,
    { details: { model: id, known } },
  )
}

/** `WL_INVALID_INPUT` listing the precisions for an unknown name. */
export function parseAdvisePrecision(p: string): Precision {
  const found = PRECISIONS.find((x) => x === p.trim().toLowerCase())
  if (found === undefined) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `unknown precision "${p}" (known: ${PRECISIONS.join(', ')})`,
      { details: { field: 'precision', allowed: PRECISIONS } },
    )
  }
  return found
}

function better(a: FittedProfileEntry, b: FittedProfileEntry): boolean {
  const ra = DATASET_RANK[a.dataset] ?? 9
  const rb = DATASET_RANK[b.dataset] ?? 9
  return ra !== rb ? ra < rb : a.points > b.points
}

function byKey(a: FittedProfileEntry, b: FittedProfileEntry): number {
  return (
    a.model.localeCompare(b.model) ||
    a.hardware.localeCompare(b.hardware) ||
    a.precision.localeCompare(b.precision) ||
    a.gpus - b.gpus
  )
}

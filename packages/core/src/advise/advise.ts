/**
 * @module advise/advise
 * `advise`: the ranked deployments for a workload, the recommendation and how it compares with the
 * deployment the user runs today (from `wattline.yaml`). Pure.
 */
import { getHardware } from '../catalog/hardware.ts'
import { getModel } from '../catalog/models.ts'
import { findFittedEntry, fittedProfile, resolveProfile } from '../energy/resolve.ts'
import { FITTED_PROFILE_TABLE } from '../catalog/data/fitted-profiles.ts'
import type { ProfileTable } from '../energy/profile-table.ts'
import type { EnergyProfile, Precision } from '../energy/profile.ts'
import { adviseCandidates, type AdviseCandidate, type AdvisePlacement } from './candidates.ts'
import { findEdgeMeasurement } from '../energy/edge-profile.ts'
import { evaluateOption, rankOptions, type AdviseOption, type ZoneDay } from './rank.ts'
import type { WorkloadMix } from './workload-mix.ts'

/** The deployment running today. */
export interface CurrentDeployment {
  readonly model: string
  readonly hardware: string
  readonly precision: Precision
  /** Batch cap (the backend's `max_concurrency`). */
  readonly batchCap: number
  /** Backends serving the model (one replica each). */
  readonly replicas: number
  /** Zone of the first such backend. */
  readonly zone: string
  /** Where it was read, e.g. `wattline.yaml backends chat-a, chat-b`. */
  readonly source: string
  /** `edge` for Jetson-class backends (batch 1, no PUE); default `cloud`. */
  readonly placement?: AdvisePlacement
}

export interface AdviseRequest {
  readonly mix: WorkloadMix
  readonly models: readonly string[]
  readonly hardware?: readonly string[]
  readonly precisions?: readonly string[]
  readonly sloP95Ms?: number
  readonly zones: readonly ZoneDay[]
  readonly pue: number
  /** Where deployments may run (default `cloud`); see {@link CandidateQuery.placements}. */
  readonly placements?: readonly AdvisePlacement[]
  readonly current?: CurrentDeployment
  /** The zone day of the current deployment's zone (carbon comparison). */
  readonly currentZone?: ZoneDay
  readonly table?: ProfileTable
}

export interface Savings {
  /** 1 − recommended / current, energy per 1k requests (central values). */
  readonly energy_share: number
  readonly energy_per_1k_requests_wh: number
  /** Same for carbon, recommended in its best zone vs current in its zone; null without zones. */
  readonly carbon_share: number | null
  readonly carbon_per_1k_requests_g: number | null
  readonly gpus_delta: number
}

export interface AdviseResult {
  readonly ranked: readonly AdviseOption[]
  readonly allOptions: readonly AdviseOption[]
  /** Best configuration with a measured profile (SLO met and peak carried where any is). */
  readonly recommended: AdviseOption | null
  /** The best extrapolated configuration when it would beat the recommendation: measure it first. */
  readonly extrapolatedBetter: AdviseOption | null
  readonly current: (AdviseOption & { readonly zone: string; readonly from: string }) | null
  readonly savings: Savings | null
}

export function advise(req: AdviseRequest): AdviseResult {
  const table = req.table ?? FITTED_PROFILE_TABLE
  const candidates = adviseCandidates({
    models: req.models,
    ...(req.hardware === undefined ? {} : { hardware: req.hardware }),
    ...(req.precisions === undefined ? {} : { precisions: req.precisions }),
    ...(req.placements === undefined ? {} : { placements: req.placements }),
    outputTokens: req.mix.outputTokens.mean,
    table,
  })
  const zones = req.currentZone === undefined ? req.zones : dedupe([...req.zones, req.currentZone])
  const base = {
    mix: req.mix,
    candidates,
    zones,
    pue: req.pue,
    ...(req.sloP95Ms === undefined ? {} : { sloP95Ms: req.sloP95Ms }),
  }
  const { ranked, allOptions } = rankOptions(base)
  // Recommend from measured profiles only: an extrapolation is listed (and flagged when it would
  // beat the recommendation) but is a hypothesis to measure, not advice.
  const feasible = (o: AdviseOption): boolean => o.meets_slo !== false && o.carries_peak
  const recommended =
    ranked.find((o) => o.basis !== 'extrapolated' && feasible(o)) ??
    ranked.find((o) => o.basis !== 'extrapolated') ??
    null
  const extrapolatedBetter =
    recommended === null
      ? null
      : (ranked.find(
          (o) =>
            o.basis === 'extrapolated' &&
            feasible(o) &&
            o.energy_per_1k_requests_wh.value < recommended.energy_per_1k_requests_wh.value,
        ) ?? null)
  let current: AdviseResult['current'] = null
  let savings: Savings | null = null
  if (req.current !== undefined) {
    const cand = currentCandidate(req.current, req.mix.outputTokens.mean, table)
    const opt = evaluateOption(base, cand, req.current.batchCap, req.current.replicas)
    current = { ...opt, zone: req.current.zone, from: req.current.source }
    if (recommended !== null) {
      const ce = opt.energy_per_1k_requests_wh.value
      const re = recommended.energy_per_1k_requests_wh.value
      const cc = opt.carbon_per_1k_requests_g[req.current.zone]?.value
      const rz = recommended.best_zone ?? req.current.zone
      const rc = recommended.carbon_per_1k_requests_g[rz]?.value
      savings = {
        energy_share: 1 - re / ce,
        energy_per_1k_requests_wh: ce - re,
        carbon_share: cc === undefined || rc === undefined ? null : 1 - rc / cc,
        carbon_per_1k_requests_g: cc === undefined || rc === undefined ? null : cc - rc,
        gpus_delta: recommended.gpus - opt.gpus,
      }
    }
  }
  return { ranked, allOptions, recommended, extrapolatedBetter, current, savings }
}

function currentCandidate(
  cur: CurrentDeployment,
  outputTokens: number,
  table: ProfileTable,
): AdviseCandidate {
  const spec = getModel(cur.model)
  const hw = getHardware(cur.hardware)
  const resolved = (): EnergyProfile =>
    resolveProfile({
      model: spec.id,
      hardware: hw.id,
      precision: cur.precision,
      outputTokens,
      table,
    })
  if (cur.placement === 'edge' || hw.kind === 'edge') {
    const m = findEdgeMeasurement(spec, hw, cur.precision)
    const profile = resolved()
    return {
      model: profile.model,
      precision: profile.precision,
      hardware: hw.id,
      gpus: 1,
      profile,
      placement: 'edge',
      ...(m === undefined ? {} : { edge: m }),
    }
  }
  const entry = findFittedEntry(table, spec, hw, cur.precision)
  if (entry !== undefined) {
    return {
      model: entry.model,
      precision: entry.precision,
      hardware: hw.id,
      gpus: entry.gpus,
      profile: fittedProfile(table, entry, hw, spec, outputTokens),
      entry,
    }
  }
  const profile = resolved()
  return {
    model: spec.id,
    precision: cur.precision,
    hardware: hw.id,
    gpus: profile.gpus,
    profile,
  }
}

function dedupe(zones: readonly ZoneDay[]): ZoneDay[] {
  const seen = new Set<string>()
  return zones.filter((z) => (seen.has(z.zone) ? false : (seen.add(z.zone), true)))
}

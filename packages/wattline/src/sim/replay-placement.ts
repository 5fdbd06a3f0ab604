/**
 * @module sim/replay-placement
 * A replay's energy split by where backends run — `cloud` (data centre: facility energy = IT × PUE)
 * and `edge` (modules near users: no PUE, idle power while on) — so moving work to the edge shows
 * both sides: data-centre energy goes down, energy per device goes up. Devices: GPUs of the cloud
 * replicas (replicas × GPUs per replica), modules at the edge (replicas). Modelled.
 */
import { facilityTotals, JOULES_PER_KWH, type SimulationResult } from '@wattline/core'
import type { Placement } from '../config/placement.ts'
import type { Fleet } from './load-fleet.ts'

export interface PlacementOutcome {
  readonly placement: Placement
  readonly backends: number
  /** Accelerators (cloud GPUs) or modules (edge) powered for the whole replay. */
  readonly devices: number
  readonly requests: number
  /** Facility energy (IT × PUE; edge: PUE 1), kWh. */
  readonly energyKwh: number
  readonly idleEnergyKwh: number
  readonly carbonKg: number
  /** energyKwh ÷ devices. */
  readonly energyPerDeviceKwh: number
  /** Wh per 1,000 requests served here; null when none were. */
  readonly energyPer1kRequestsWh: number | null
}

/** One row per placement present in the fleet, cloud first. */
export function placementOutcomes(sim: SimulationResult, fleet: Fleet): PlacementOutcome[] {
  const out: PlacementOutcome[] = []
  for (const placement of ['cloud', 'edge'] as const) {
    let backends = 0
    let devices = 0
    let requests = 0
    const here = (j: number): boolean => fleet.backends[j]?.placement === placement
    fleet.backends.forEach((b, j) => {
      const t = sim.backends[j]
      if (!here(j) || t === undefined) return
      backends++
      devices += b.replicas * (placement === 'edge' ? 1 : b.profile.gpus)
      requests += t.requests
    })
    const {
      energyJ,
      idleEnergyJ: idleJ,
      carbonG,
    } = facilityTotals(sim.backends, (j) => fleet.backends[j]?.pue ?? 1, here)
    if (backends === 0) continue
    const energyKwh = energyJ / JOULES_PER_KWH
    out.push({
      placement,
      backends,
      devices,
      requests,
      energyKwh,
      idleEnergyKwh: idleJ / JOULES_PER_KWH,
      carbonKg: carbonG / 1000,
      energyPerDeviceKwh: devices > 0 ? energyKwh / devices : 0,
      energyPer1kRequestsWh: requests > 0 ? (energyJ / 3600 / requests) * 1000 : null,
    })
  }
  return out
}

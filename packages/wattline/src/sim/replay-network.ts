/**
 * @module sim/replay-network
 * Network energy of a replay, apart from compute: each request's boundary bytes (estimated from its
 * tokens: `estimateRequestBytes`, 4 B/token of text + measured JSON/SSE framing) × a transmission
 * intensity (kWh/GB: the fleet's `network.kwh_per_gb` with its source, else the Aslan et al. 2018
 * trend for the year of the first request, as the gateway charges), carbon at the serving
 * backend's zone intensity at arrival (as the gateway does).
 *
 * Distance: where the fleet gives client → backend distances, a pair at 0 km is on the same
 * premises — the request crosses no access or core network, which is all a kWh/GB coefficient of
 * that kind covers (Aslan et al. count core and access networks, not customer premises) — so it is
 * charged nothing. Other distances are reported (GB·km) but do not scale the charge: we found no
 * per-km transmission coefficient we could ground in a source, and a network-average kWh/GB already
 * averages over typical path lengths (docs/methodology.md "Network energy in replay").
 */
import {
  estimateRequestBytes,
  carbonOf,
  gramsPerKwh,
  joules,
  networkEnergyJ,
  REQUEST_BYTES_MODEL,
  trendCoefficient,
  utcYear,
  type IntensityLookup,
  type SimulationResult,
  JOULES_PER_KWH,
} from '@wattline/core'
import type { Placement } from '../config/placement.ts'
import type { Fleet } from './load-fleet.ts'

/** The requests' columns the charge reads. */
export interface NetworkRequests {
  readonly count: number
  readonly arrival: ArrayLike<number>
  readonly inputTokens: ArrayLike<number>
  readonly outputTokens: ArrayLike<number>
  readonly client: ArrayLike<number>
}

export interface NetworkOutcome {
  readonly bytes: number
  /** IT energy of transmission, kWh (no PUE: networks are not in the data centre). */
  readonly energyKwh: number
  readonly carbonKg: number
  readonly kwhPerGb: number
  readonly source: string
  readonly bytesSource: string
  readonly streamedShare: number
  /** Requests whose client and backend share premises (0 km): not charged. */
  readonly samePremisesRequests: number
  /** Σ GB × km over requests with a known distance; null when the fleet gives none. */
  readonly gbKm: number | null
  readonly byPlacement: readonly {
    readonly placement: Placement
    readonly bytes: number
    readonly energyKwh: number
  }[]
  readonly method: 'modelled'
}

/** The replay's network energy; undefined when the fleet turns it off or nothing was served. */
export function networkOutcome(
  sim: SimulationResult,
  fleet: Fleet,
  requests: NetworkRequests,
  intensity: IntensityLookup,
): NetworkOutcome | undefined {
  const settings = fleet.network ?? { enabled: true, streamedShare: 0 }
  if (!settings.enabled || requests.count === 0) return undefined
  const first = requests.arrival[0] as number
  const coefficient =
    settings.kwhPerGb !== undefined
      ? { kwhPerGb: settings.kwhPerGb, source: settings.source ?? 'fleet network.kwh_per_gb' }
      : trendCoefficient(utcYear(first))
  const nb = fleet.backends.length
  const distance = settings.distanceKm
  let bytes = 0
  let energyJ = 0
  let carbonG = 0
  let samePremises = 0
  let gbKm: number | null = distance === undefined ? null : 0
  const byPlacement = new Map<Placement, { bytes: number; energyJ: number }>()
  for (const b of fleet.backends) byPlacement.set(b.placement, { bytes: 0, energyJ: 0 })
  for (let i = 0; i < requests.count; i++) {
    const j = sim.backend[i] as number
    const backend = fleet.backends[j]
    if (backend === undefined) continue
    const b = estimateRequestBytes(
      requests.inputTokens[i] as number,
      requests.outputTokens[i] as number,
      settings.streamedShare,
    )
    const km = distance?.[(requests.client[i] as number) * nb + j]
    const local = km === 0
    if (km !== undefined && Number.isFinite(km) && gbKm !== null) gbKm += (b / 1e9) * km
    const e = local ? 0 : networkEnergyJ(b, coefficient.kwhPerGb)
    if (local) samePremises++
    bytes += b
    energyJ += e
    carbonG += carbonOf(
      joules(e),
      gramsPerKwh(intensity(backend.zone, requests.arrival[i] as number).intensity),
    )
    const acc = byPlacement.get(backend.placement)
    if (acc !== undefined) {
      acc.bytes += b
      acc.energyJ += e
    }
  }
  return {
    bytes,
    energyKwh: energyJ / JOULES_PER_KWH,
    carbonKg: carbonG / 1000,
    kwhPerGb: coefficient.kwhPerGb,
    source: coefficient.source,
    bytesSource: REQUEST_BYTES_MODEL.source,
    streamedShare: settings.streamedShare,
    samePremisesRequests: samePremises,
    gbKm,
    byPlacement: [...byPlacement].map(([placement, v]) => ({
      placement,
      bytes: v.bytes,
      energyKwh: v.energyJ / JOULES_PER_KWH,
    })),
    method: 'modelled',
  }
}

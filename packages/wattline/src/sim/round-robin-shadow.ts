/**
 * @module sim/round-robin-shadow
 * The demo's "savings vs round-robin", computed honestly: for every request the gateway answered,
 * the carbon it was modelled to cost on the backend that served it is set beside the carbon it
 * would have cost on the backend a round-robin router would have picked for it, both by the SAME
 * formula:
 *
 *   energy  = input tokens × energyPerInputToken(batch) + output tokens × energyPerOutputToken(batch)
 *             (the backend's fitted profile; J, modelled)
 *   carbon  = energy × PUE × intensity(zone, time of the request) / 3.6e6   (g; location-based)
 *
 * Round-robin's pick is backend `index mod n` in configuration order (index = arrival order). Its
 * batch is what round-robin would have produced: the requests then running across the fleet spread
 * evenly (⌈(total running + 1) / n⌉); the served side uses the batch actually running on the chosen
 * backend (+ 1 for the request itself). Both sides are modelled; neither is a measurement.
 *
 * Pure: profiles and an intensity lookup come in as arguments.
 */
import {
  carbonOfItEnergy,
  type EnergyProfile,
  type GramsPerKwh,
  type Instant,
} from '@wattline/core'

export interface ShadowBackend {
  readonly id: string
  readonly zone: string
  readonly pue: number
  readonly profile: EnergyProfile
}

export interface ShadowRequest {
  /** Arrival order, from 0 (round-robin's cursor). */
  readonly index: number
  /** The backend that served it. */
  readonly backend: string
  readonly inputTokens: number
  readonly outputTokens: number
  /** When it ran, in the time the intensity lookup understands. */
  readonly at: Instant
  /** Sequences running on each backend when it was sent (before it). */
  readonly running: Readonly<Record<string, number>>
}

export interface ShadowTotals {
  readonly requests: number
  /** Modelled energy and carbon as served (J, g). */
  readonly servedJ: number
  readonly servedG: number
  /** The same requests under round-robin (J, g). */
  readonly roundRobinJ: number
  readonly roundRobinG: number
  /** 1 − served / round-robin carbon, in percent; null before any request. */
  readonly savingsPct: number | null
}

export interface ShadowComparison {
  /** Adds one served request; unknown backends are ignored (returns false). */
  add(request: ShadowRequest): boolean
  totals(): ShadowTotals
}

/** Creates an accumulator comparing served carbon with round-robin's, request by request. */
export function createRoundRobinShadow(
  backends: readonly ShadowBackend[],
  intensityAt: (zone: string, at: Instant) => GramsPerKwh,
): ShadowComparison {
  if (backends.length === 0) throw new RangeError('a shadow comparison needs at least one backend')
  const byId = new Map(backends.map((b) => [b.id, b]))
  let requests = 0
  let servedJ = 0
  let servedG = 0
  let roundRobinJ = 0
  let roundRobinG = 0

  const energy = (b: ShadowBackend, batch: number, r: ShadowRequest): number => {
    const bb = Math.max(1, Math.min(batch, b.profile.maxBatch))
    return (
      r.inputTokens * b.profile.energyPerInputToken(bb).value +
      r.outputTokens * b.profile.energyPerOutputToken(bb).value
    )
  }
  const carbon = (b: ShadowBackend, joules: number, at: Instant): number =>
    carbonOfItEnergy(joules, b.pue, intensityAt(b.zone, at))

  return {
    add(r: ShadowRequest): boolean {
      const served = byId.get(r.backend)
      if (served === undefined) return false
      const rr = backends[r.index % backends.length]
      if (rr === undefined) return false
      const total = backends.reduce((a, b) => a + (r.running[b.id] ?? 0), 0)
      const eServed = energy(served, (r.running[served.id] ?? 0) + 1, r)
      const eRr = energy(rr, Math.ceil((total + 1) / backends.length), r)
      requests += 1
      servedJ += eServed
      servedG += carbon(served, eServed, r.at)
      roundRobinJ += eRr
      roundRobinG += carbon(rr, eRr, r.at)
      return true
    },
    totals(): ShadowTotals {
      return {
        requests,
        servedJ,
        servedG,
        roundRobinJ,
        roundRobinG,
        savingsPct: roundRobinG > 0 ? (1 - servedG / roundRobinG) * 100 : null,
      }
    },
  }
}

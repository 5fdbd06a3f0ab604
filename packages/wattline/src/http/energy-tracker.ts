/**
 * @module http/energy-tracker
 * Live attribution of one backend's power to its requests, with idle energy kept apart. Pure: time
 * arrives as arguments.
 *
 * Power P(t) is integrated piecewise: while n > 0 requests are in flight each receives P·dt/n (its
 * share of the work: every running sequence advances one token per decode step); while n = 0 the
 * energy is idle. A request's energy is the growth of the per-slot integral over its lifetime, so the
 * requests' energy plus idle energy equals the backend's energy exactly (conservation).
 *
 * Without a meter, P comes from the profile at the current occupancy (`modelled`); with a meter the
 * latest reading is held until the next one (`measured`).
 */

/** Opaque mark taken when a request starts. */
export interface SlotMark {
  readonly perSlotJ: number
  readonly atMs: number
  readonly occupancyMsAtStart: number
}

/** Energy of a finished request. */
export interface RequestEnergy {
  /** IT energy (J). */
  readonly energyJ: number
  /** Mean occupancy over the request's lifetime (requests in flight, including itself). */
  readonly meanOccupancy: number
  readonly durationMs: number
}

export interface IdleSlice {
  readonly fromMs: number
  readonly toMs: number
  /** IT energy while nothing ran (J). */
  readonly energyJ: number
}

export interface EnergyTracker {
  readonly inflight: number
  /** Latest power (W). */
  readonly powerW: number
  /** True once a measured reading has arrived (and the meter is in charge of power). */
  readonly measured: boolean
  start(nowMs: number): SlotMark
  end(nowMs: number, mark: SlotMark): RequestEnergy
  /** A meter reading (W) taking effect at `nowMs`. */
  setPower(nowMs: number, powerW: number): void
  /** Idle energy since the last call; resets the idle accumulator. */
  takeIdle(nowMs: number): IdleSlice
  /** Total energy integrated so far (J): requests + idle. */
  totalJ(nowMs: number): number
}

/**
 * Creates a tracker. `modelledPower(n)` gives power at occupancy n (W) until a meter reading
 * arrives through `setPower`.
 */
export function createEnergyTracker(
  startMs: number,
  modelledPower: (occupancy: number) => number,
): EnergyTracker {
  let n = 0
  let lastMs = startMs
  let measured = false
  let power = modelledPower(0)
  let perSlotJ = 0
  let occupancyMs = 0 // ∫ n dt (ms), for mean occupancy
  let totalJ = 0
  let idleJ = 0
  let idleFromMs = startMs

  function advance(nowMs: number): void {
    const dt = Math.max(0, nowMs - lastMs)
    if (dt === 0) return
    const e = (power * dt) / 1000
    totalJ += e
    if (n > 0) {
      perSlotJ += e / n
      occupancyMs += n * dt
    } else idleJ += e
    lastMs = nowMs
  }

  function setOccupancy(nowMs: number, next: number): void {
    advance(nowMs)
    n = next
    if (!measured) power = modelledPower(n)
  }

  return {
    get inflight() {
      return n
    },
    get powerW() {
      return power
    },
    get measured() {
      return measured
    },
    start(nowMs) {
      advance(nowMs)
      const mark = { perSlotJ, atMs: Math.max(nowMs, lastMs), occupancyMsAtStart: occupancyMs }
      setOccupancy(nowMs, n + 1)
      return mark
    },
    end(nowMs, mark) {
      advance(nowMs)
      const durationMs = Math.max(0, Math.max(nowMs, lastMs) - mark.atMs)
      const energyJ = perSlotJ - mark.perSlotJ
      const meanOccupancy =
        durationMs > 0 ? (occupancyMs - mark.occupancyMsAtStart) / durationMs : Math.max(1, n)
      setOccupancy(nowMs, Math.max(0, n - 1))
      return { energyJ, meanOccupancy: Math.max(1, meanOccupancy), durationMs }
    },
    setPower(nowMs, powerW) {
      advance(nowMs)
      measured = true
      power = Math.max(0, powerW)
    },
    takeIdle(nowMs) {
      advance(nowMs)
      const slice = { fromMs: idleFromMs, toMs: Math.max(nowMs, idleFromMs), energyJ: idleJ }
      idleJ = 0
      idleFromMs = slice.toMs
      return slice
    },
    totalJ(nowMs) {
      advance(nowMs)
      return totalJ
    },
  }
}

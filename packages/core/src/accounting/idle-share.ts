/**
 * @module accounting/idle-share
 * How much of a backend's idle energy a scope (a service, a set of requests) is charged: the part of
 * the idle interval inside the period, times the scope's share of the backend's request IT energy in
 * that period (shares follow work done). A fleet-wide scope carries all of it. The report and the
 * dashboard API both charge idle energy this way.
 */

/** An interval of epoch ms, `[from_ms, to_ms]` as the ledger's idle rows hold it. */
export interface MsInterval {
  readonly from_ms: number
  readonly to_ms: number
}

/** A half-open period of epoch ms, `[fromMs, toMs)`. */
export interface MsPeriod {
  readonly fromMs: number
  readonly toMs: number
}

/**
 * The fraction (0–1) of `interval` inside `period`: the overlap ÷ the interval's length; a
 * zero-length interval counts 1 when its instant lies in the period, 0 otherwise.
 */
export function overlapFraction(interval: MsInterval, period: MsPeriod): number {
  const span = interval.to_ms - interval.from_ms
  const o = Math.min(interval.to_ms, period.toMs) - Math.max(interval.from_ms, period.fromMs)
  if (span <= 0) return interval.from_ms >= period.fromMs && interval.from_ms < period.toMs ? 1 : 0
  return Math.max(0, o) / span
}

/** An idle interval's figures that scale with its length (energies in J, carbon in g). */
export interface ProratableIdle extends MsInterval {
  readonly energy_j: number
  readonly facility_energy_j: number
  readonly carbon_g: number
}

/**
 * The part of an idle interval inside `period`: its ends clipped to the period and its energy and
 * carbon scaled by {@link overlapFraction}; undefined when none of it is inside. Applying it twice
 * changes nothing, so a reader may hand on clipped rows. The report prorates each overlapping
 * interval this way (`ScopeRollup.addIdle`); the dashboard API clips the rows it reads with it.
 */
export function idleInPeriod<T extends ProratableIdle>(idle: T, period: MsPeriod): T | undefined {
  const f = overlapFraction(idle, period)
  if (f === 0) return undefined
  if (f === 1 && idle.from_ms >= period.fromMs && idle.to_ms <= period.toMs) return idle
  const from = Math.max(idle.from_ms, period.fromMs)
  return {
    ...idle,
    from_ms: from,
    to_ms: Math.max(from, Math.min(idle.to_ms, period.toMs)),
    energy_j: idle.energy_j * f,
    facility_energy_j: idle.facility_energy_j * f,
    carbon_g: idle.carbon_g * f,
  }
}

/**
 * A scope's share of energy per key (a backend, a zone): J of every scope and J of this scope,
 * added as rows stream by; `share(key)` = scope ÷ total, capped at 1, 0 when nothing ran there.
 *
 * @example
 * const shares = new EnergyShares()
 * for (const r of requests) shares.add(r.backend, r.energy_j, r.service === 'chat' ? r.energy_j : 0)
 * idle.energy_j * shares.share(idle.backend) // the idle J charged to `chat`
 */
export class EnergyShares {
  readonly #total = new Map<string, number>()
  readonly #scope = new Map<string, number>()

  /** Adds `totalJ` to the key's energy and `scopeJ` (part of it, or 0) to the scope's. */
  add(key: string, totalJ: number, scopeJ: number): void {
    this.#total.set(key, (this.#total.get(key) ?? 0) + totalJ)
    if (scopeJ !== 0) this.#scope.set(key, (this.#scope.get(key) ?? 0) + scopeJ)
  }

  /** J of every scope on `key`. */
  totalJ(key: string): number {
    return this.#total.get(key) ?? 0
  }

  /** J of this scope on `key`. */
  scopeJ(key: string): number {
    return this.#scope.get(key) ?? 0
  }

  /** The scope's share (0–1) of `key`'s energy; 0 when `key` had none. */
  share(key: string): number {
    const total = this.totalJ(key)
    return total > 0 ? Math.min(1, this.scopeJ(key) / total) : 0
  }
}

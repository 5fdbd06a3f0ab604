/**
 * @module accounting/scope-rollup
 * The roll-up of a reporting scope (the fleet, or one service) over a period, fed row by row as the
 * ledger streams: totals with intervals and methods (IT, idle, facility energy, carbon), and the
 * same per zone, per backend, per (service, model), per minute (for the power peak without
 * samples) and per time bucket. Request rows carry their own facility energy (IT × PUE) and carbon
 * (facility × intensity), as the gateway accounted them; idle rows come in already prorated to the
 * period and the scope's share (`idle-share.ts`). Pure: no I/O, the caller streams.
 */
import type { IdleEnergyRecord } from '../ledger/records.ts'
import type { ReportRequest } from '../ports/report-source.ts'
import type { Method } from '../units/estimate.ts'
import { JOULES_PER_KWH } from '../units/quantity.ts'
import { overlapFraction, type MsPeriod } from './idle-share.ts'
import { IntervalSum } from './interval-sum.ts'
import { MinuteEnergy } from './peak-power.ts'
import { TimeBuckets } from './time-buckets.ts'

type Signal = ReportRequest['intensity_signal']

/** One zone's totals in the scope; energies in J. */
export interface ZoneTotals {
  requests: number
  /** IT energy of the scope's requests and charged idle, J. */
  itJ: number
  facilityJ: number
  idleFacilityJ: number
  readonly carbon: IntervalSum
  /** Σ intensity × facility energy (g/kWh · J), for the energy-weighted mean intensity. */
  intensityJ: number
  readonly signals: Set<Signal>
  readonly sources: Set<string>
}

/** One backend's totals in the scope; energies in J. */
export interface BackendTotals {
  readonly zone: string
  requests: number
  /** IT energy of requests, J. */
  itJ: number
  /** Facility energy of requests and charged idle, J. */
  facilityJ: number
  /** Idle IT energy charged to the scope, J. */
  idleJ: number
  outputTokens: number
  readonly methods: Set<Method>
}

/** One (service, model)'s request totals. */
export interface ModelTotals {
  readonly service: string
  readonly model: string
  requests: number
  /** IT energy of requests, J (what budgets and the release gate measure). */
  itJ: number
  outputTokens: number
  carbonG: number
}

export class ScopeRollup {
  requests = 0
  /** Requests with status ≥ 400 or an error code. */
  failed = 0
  inputTokens = 0
  outputTokens = 0
  /** IT energy (requests + charged idle), J. */
  readonly it = new IntervalSum()
  /** The idle part of `it`, J. */
  readonly idleIt = new IntervalSum()
  /** Facility energy (IT × PUE), J. */
  readonly facility = new IntervalSum()
  /** Carbon (facility × intensity), g. */
  readonly carbon = new IntervalSum()
  /** IT energy by method, J. */
  measuredJ = 0
  modelledJ = 0
  measuredRequests = 0
  modelledRequests = 0
  staleRequests = 0
  readonly signalRequests = new Map<Signal, number>()
  readonly energySources = new Set<string>()
  readonly zones = new Map<string, ZoneTotals>()
  readonly backends = new Map<string, BackendTotals>()
  /** Keyed by `service NUL model`. */
  readonly models = new Map<string, ModelTotals>()
  readonly services = new Set<string>()
  /** IT energy by minute (requests at arrival, idle spread), for the peak without samples. */
  readonly minuteEnergy = new MinuteEnergy()
  readonly buckets: TimeBuckets
  readonly period: MsPeriod

  constructor(period: MsPeriod) {
    this.period = period
    this.buckets = new TimeBuckets(period.fromMs, period.toMs)
  }

  /** Adds one request of the scope. */
  addRequest(r: ReportRequest): void {
    this.requests += 1
    if (r.status >= 400 || r.error_code !== null) this.failed += 1
    this.inputTokens += r.input_tokens
    this.outputTokens += r.output_tokens
    this.it.add(r.energy_j, r.energy_low_j, r.energy_high_j, r.method)
    this.facility.add(
      r.facility_energy_j,
      r.energy_low_j * r.pue,
      r.energy_high_j * r.pue,
      r.method,
    )
    this.carbon.add(r.carbon_g, r.carbon_low_g, r.carbon_high_g, r.method)
    if (r.method === 'measured') {
      this.measuredJ += r.energy_j
      this.measuredRequests += 1
    } else {
      this.modelledJ += r.energy_j
      this.modelledRequests += 1
    }
    if (r.intensity_stale) this.staleRequests += 1
    this.signalRequests.set(
      r.intensity_signal,
      (this.signalRequests.get(r.intensity_signal) ?? 0) + 1,
    )
    this.energySources.add(r.energy_source)
    this.services.add(r.service)

    const z = this.#zone(r.zone)
    z.requests += 1
    z.itJ += r.energy_j
    z.facilityJ += r.facility_energy_j
    z.carbon.add(r.carbon_g, r.carbon_low_g, r.carbon_high_g, r.method)
    z.intensityJ += r.intensity_g_per_kwh * r.facility_energy_j
    z.signals.add(r.intensity_signal)
    z.sources.add(r.intensity_source)

    const b = this.#backend(r.backend, r.zone)
    b.requests += 1
    b.itJ += r.energy_j
    b.facilityJ += r.facility_energy_j
    b.outputTokens += r.output_tokens
    b.methods.add(r.method)

    const mk = `${r.service}\u0000${r.model}`
    const m = this.models.get(mk) ?? {
      service: r.service,
      model: r.model,
      requests: 0,
      itJ: 0,
      outputTokens: 0,
      carbonG: 0,
    }
    m.requests += 1
    m.itJ += r.energy_j
    m.outputTokens += r.output_tokens
    m.carbonG += r.carbon_g
    this.models.set(mk, m)

    this.minuteEnergy.add(r.at_ms, r.energy_j)
    this.buckets.addRequest(r.at_ms, {
      zone: r.zone,
      itJ: r.energy_j,
      facilityJ: r.facility_energy_j,
      carbonG: r.carbon_g,
      method: r.method,
    })
  }

  /**
   * Adds the part of an idle interval inside the period, times `share` (the scope's share of the
   * backend, 0–1), as exact figures. Returns the IT energy charged, J.
   */
  addIdle(idle: IdleEnergyRecord, share: number): number {
    const f = overlapFraction(idle, this.period) * share
    if (f === 0) return 0
    const from = Math.max(idle.from_ms, this.period.fromMs)
    // A zero-length interval is a point: give it one millisecond so it lands in one slot.
    const to = Math.max(Math.min(idle.to_ms, this.period.toMs), from + 1)
    const itJ = idle.energy_j * f
    const facJ = idle.facility_energy_j * f
    const carbon = idle.carbon_g * f
    this.idleIt.addExact(itJ, idle.method)
    this.it.addExact(itJ, idle.method)
    this.facility.addExact(facJ, idle.method)
    this.carbon.addExact(carbon, idle.method)
    if (idle.method === 'measured') this.measuredJ += itJ
    else this.modelledJ += itJ
    this.energySources.add(idle.source)

    const z = this.#zone(idle.zone)
    z.idleFacilityJ += facJ
    z.itJ += itJ
    z.facilityJ += facJ
    z.carbon.addExact(carbon, idle.method)
    if (facJ > 0) z.intensityJ += (carbon / (facJ / JOULES_PER_KWH)) * facJ

    const b = this.#backend(idle.backend, idle.zone)
    b.idleJ += itJ
    b.facilityJ += facJ
    b.methods.add(idle.method)

    this.minuteEnergy.spread(from, to, itJ)
    this.buckets.addIdle(from, to, {
      zone: idle.zone,
      itJ,
      facilityJ: facJ,
      carbonG: carbon,
      method: idle.method,
    })
    return itJ
  }

  #zone(zone: string): ZoneTotals {
    let z = this.zones.get(zone)
    if (z === undefined) {
      z = {
        requests: 0,
        itJ: 0,
        facilityJ: 0,
        idleFacilityJ: 0,
        carbon: new IntervalSum(),
        intensityJ: 0,
        signals: new Set(),
        sources: new Set(),
      }
      this.zones.set(zone, z)
    }
    return z
  }

  #backend(backend: string, zone: string): BackendTotals {
    let b = this.backends.get(backend)
    if (b === undefined) {
      b = {
        zone,
        requests: 0,
        itJ: 0,
        facilityJ: 0,
        idleJ: 0,
        outputTokens: 0,
        methods: new Set(),
      }
      this.backends.set(backend, b)
    }
    return b
  }
}

/**
 * @module ledger/records
 * The facts the ledger stores, as plain immutable data. The gateway and the replay simulator produce
 * them; storage adapters persist them; the chain and reports read them. Field names are the wire/SQL
 * names (snake_case with unit suffixes), so a record is written and hashed exactly as it is.
 */
import type { Method } from '../units/estimate.ts'

/** One served request with its accounting. */
export interface RequestRecord {
  readonly kind: 'request'
  readonly id: string
  /** Epoch ms when the request arrived. */
  readonly at_ms: number
  readonly service: string
  readonly tenant: string | null
  readonly model: string
  readonly backend: string
  readonly zone: string
  readonly endpoint: string
  readonly status: number
  readonly streamed: boolean
  readonly input_tokens: number
  readonly output_tokens: number
  readonly latency_ms: number
  readonly ttft_ms: number | null
  /** IT energy attributed to the request (J), before PUE. */
  readonly energy_j: number
  readonly energy_low_j: number
  readonly energy_high_j: number
  /** Facility energy = IT energy × PUE (J). */
  readonly facility_energy_j: number
  readonly pue: number
  readonly carbon_g: number
  readonly carbon_low_g: number
  readonly carbon_high_g: number
  readonly intensity_g_per_kwh: number
  readonly intensity_source: string
  readonly intensity_signal: 'average' | 'marginal'
  readonly intensity_stale: boolean
  readonly method: Method
  readonly energy_source: string
  readonly routing_policy: string
  /** Compact JSON of the decision's reason and alternatives' scores. */
  readonly routing_reason: string
  readonly attempts: number
  readonly error_code: string | null
  // Added by ledger migration 5; absent on older rows and when they do not apply (so rows written
  // before hash exactly as they were written).
  /**
   * The levers that acted on the request and the energy each saved: canonical JSON of a
   * `LeverEnergySaving[]` (`encodeLeverSavings`), basis stated per entry.
   */
  readonly levers?: string
  /** Bytes that crossed the service boundary: request body + response body, as sent. */
  readonly network_bytes?: number
  /** Modelled network energy of those bytes (J): bytes × the configured kWh/GB. Apart from `energy_j`. */
  readonly network_energy_j?: number
  /** `network_energy_j` × the zone intensity the request was charged at, gCO2e. */
  readonly network_carbon_g?: number
  /** The model the client asked for, when a quality tier served another (`model` is the one served). */
  readonly model_requested?: string
}

/** Idle energy of a backend over an interval (powered, nothing to do), charged to the service as overhead. */
export interface IdleEnergyRecord {
  readonly kind: 'idle'
  readonly backend: string
  readonly zone: string
  readonly from_ms: number
  readonly to_ms: number
  readonly energy_j: number
  readonly facility_energy_j: number
  readonly carbon_g: number
  readonly method: Method
  readonly source: string
}

/** A power reading of a backend (IT power). */
export interface PowerSampleRecord {
  readonly kind: 'power'
  readonly backend: string
  readonly at_ms: number
  readonly power_w: number
  readonly method: Method
  readonly source: string
}

/** An intensity value used for accounting. */
export interface IntensityRecord {
  readonly kind: 'intensity'
  readonly zone: string
  readonly at_ms: number
  readonly intensity_g_per_kwh: number
  readonly signal: 'average' | 'marginal'
  readonly source: string
  readonly forecast: boolean
  readonly stale: boolean
}

export type LedgerRecord = RequestRecord | IdleEnergyRecord | PowerSampleRecord | IntensityRecord

/**
 * Where the gateway hands records. Must never block or throw on the request path: implementations
 * buffer and write asynchronously, and count what they must drop.
 */
export interface LedgerSink {
  append(record: LedgerRecord): void
  /** Writes everything buffered; resolves when durable. */
  flush(): Promise<void>
  /** Flushes and releases resources. */
  close(): Promise<void>
}

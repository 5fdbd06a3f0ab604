import type { Method } from '../units/estimate.ts'
import type { Instant, Watts } from '../units/quantity.ts'

/** One power reading of a backend (all its accelerators together, IT power before PUE). */
export interface PowerSample {
  readonly backend: string
  readonly at: Instant
  readonly power: Watts
  readonly method: Method
  readonly source: string
}

/** A power source for a backend: modelled, nvidia-smi, DCGM or Kepler through Prometheus, RAPL. */
export interface PowerMeter {
  readonly name: string
  readonly method: Method
  /** Latest readings, one per backend the meter covers. */
  read(signal?: AbortSignal): Promise<readonly PowerSample[]>
}

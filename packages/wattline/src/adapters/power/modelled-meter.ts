/**
 * @module adapters/power/modelled-meter
 * The default "meter": a backend's power from its energy profile at its current batch occupancy
 * (`profile.power(inflight)`), reported as `modelled`.
 */
import { instant, type EnergyProfile, type PowerMeter, type PowerSample } from '@wattline/core'

export interface ModelledMeterOptions {
  readonly backend: string
  readonly profile: EnergyProfile
  /** Requests in flight on the backend now. */
  readonly occupancy: () => number
  readonly now: () => number
}

/** Creates the meter. */
export function createModelledMeter(options: ModelledMeterOptions): PowerMeter {
  const source = `modelled:${options.profile.source}`
  return {
    name: source,
    method: 'modelled',
    read(): Promise<readonly PowerSample[]> {
      const n = options.occupancy()
      return Promise.resolve([
        {
          backend: options.backend,
          at: instant(options.now()),
          power: options.profile.power(n),
          method: 'modelled',
          source,
        },
      ])
    },
  }
}

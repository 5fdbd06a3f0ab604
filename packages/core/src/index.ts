/**
 * @wattline/core — the pure domain: no I/O, no clock, no randomness, no node:* imports.
 * Explicit named exports only; each area keeps its own block.
 */

// units
export * from './units/quantity.ts'
export * from './units/estimate.ts'
export type { Brand } from './brand.ts'

// errors
export * from './errors.ts'

// ports
export type { Clock, Stopwatch } from './ports/clock.ts'
export { seededRandom } from './ports/random.ts'
export type { Random } from './ports/random.ts'
export type { CarbonIntensitySource } from './ports/carbon-intensity-source.ts'
export type { PowerMeter, PowerSample } from './ports/power-meter.ts'

// carbon
export * from './carbon/intensity.ts'

// energy
export * from './energy/profile.ts'

// routing
export * from './routing/policy.ts'

// ledger records
export type {
  RequestRecord,
  IdleEnergyRecord,
  PowerSampleRecord,
  IntensityRecord,
  LedgerRecord,
  LedgerSink,
} from './ledger/records.ts'

/**
 * @module units/quantity
 * Branded quantities. A number that means joules has the type `Joules`; mixing units does not compile.
 * Constructors are the lower-case unit (`joules(5)`); conversions are explicit functions.
 */
import type { Brand } from '../brand.ts'

export type Joules = Brand<number, 'Joules'>
export type WattHours = Brand<number, 'WattHours'>
export type KilowattHours = Brand<number, 'KilowattHours'>
export type Watts = Brand<number, 'Watts'>
export type GramsCo2e = Brand<number, 'GramsCo2e'>
export type GramsPerKwh = Brand<number, 'GramsPerKwh'>
export type Milliseconds = Brand<number, 'Milliseconds'>
/** Wall-clock time as epoch milliseconds, UTC. */
export type Instant = Brand<number, 'Instant'>

export const JOULES_PER_WH = 3600
export const JOULES_PER_KWH = 3_600_000
export const MS_PER_HOUR = 3_600_000

export const joules = (n: number): Joules => n as Joules
export const wattHours = (n: number): WattHours => n as WattHours
export const kilowattHours = (n: number): KilowattHours => n as KilowattHours
export const watts = (n: number): Watts => n as Watts
export const gramsCo2e = (n: number): GramsCo2e => n as GramsCo2e
export const gramsPerKwh = (n: number): GramsPerKwh => n as GramsPerKwh
export const ms = (n: number): Milliseconds => n as Milliseconds
export const instant = (epochMs: number): Instant => epochMs as Instant

export const whToJoules = (wh: WattHours): Joules => joules(wh * JOULES_PER_WH)
export const joulesToWh = (j: Joules): WattHours => wattHours(j / JOULES_PER_WH)
export const joulesToKwh = (j: Joules): KilowattHours => kilowattHours(j / JOULES_PER_KWH)
export const kwhToJoules = (kwh: KilowattHours): Joules => joules(kwh * JOULES_PER_KWH)

/** Energy of a constant power held for a duration. */
export const energyOf = (power: Watts, duration: Milliseconds): Joules =>
  joules((power * duration) / 1000)

/** Carbon of an energy at a grid intensity (gCO2e = kWh × g/kWh). */
export const carbonOf = (energy: Joules, intensity: GramsPerKwh): GramsCo2e =>
  gramsCo2e((energy / JOULES_PER_KWH) * intensity)

/** Adds quantities of one unit. */
export function sum<Q extends number>(values: readonly Q[]): Q {
  let total = 0
  for (const v of values) total += v
  return total as Q
}

/** Scales a quantity by a dimensionless factor (PUE, share, ratio). */
export const scale = <Q extends number>(q: Q, factor: number): Q => (q * factor) as Q

/** Adds two quantities of the same unit. */
export const add = <Q extends number>(a: Q, b: Q): Q => (a + b) as Q

/** Milliseconds between two instants. */
export const between = (from: Instant, to: Instant): Milliseconds => ms(to - from)

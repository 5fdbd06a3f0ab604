/**
 * @module carbon/builtin-table
 * The built-in (static) intensity table and its lookups: an annual mean per zone (gCO2e/kWh) shaped
 * by a typical hourly profile for the UTC month and hour. Pure: the table arrives as an argument
 * (the committed one is `BUILTIN_INTENSITY` in `data/builtin-intensity.ts`).
 */
import { WattlineError } from '../errors.ts'
import { gramsPerKwh, instant, MS_PER_HOUR, type Instant } from '../units/quantity.ts'
import { closeMatches } from '../text/close-matches.ts'
import type { IntensityPoint } from './intensity.ts'

/** How a zone's annual mean was obtained. */
export const BUILTIN_BASES = ['hourly-derived', 'annual-figure'] as const
export type BuiltinBasis = (typeof BUILTIN_BASES)[number]

export interface BuiltinZone {
  readonly name: string
  /** Annual mean grid carbon intensity, gCO2e/kWh (average signal). */
  readonly annualMean: number
  readonly basis: BuiltinBasis
  /** The year the annual mean describes. */
  readonly year: number
  /** The zone whose typical hourly profile is applied (itself when hourly-derived). */
  readonly profileFrom: string
  /** Short citation, used in each point's `source`. */
  readonly ref: string
  /** Full citation of the annual mean and the profile. */
  readonly source: string
}

export interface BuiltinIntensityTable {
  readonly version: string
  /** The year of the hourly data the profiles come from. */
  readonly profileYear: number
  /** Which Electricity Maps column the hourly-derived figures use. */
  readonly intensity: string
  readonly signal: string
  readonly zones: Readonly<Record<string, BuiltinZone>>
  /** Alternative spellings → canonical zone id. */
  readonly aliases: Readonly<Record<string, string>>
  /** `profiles[zone][utcMonth][utcHour]`: dimensionless multiplier of the annual mean. */
  readonly profiles: Readonly<Record<string, readonly (readonly number[])[]>>
}

/** Most points one `builtinSeries` call returns (a year and a bit of hours). */
export const MAX_BUILTIN_POINTS = 9_000

/** The canonical zone id for `zone` (case-insensitive; aliases resolved), or `undefined`. */
export function findBuiltinZone(table: BuiltinIntensityTable, zone: string): string | undefined {
  const wanted = zone.trim().toUpperCase()
  for (const id of Object.keys(table.zones)) if (id.toUpperCase() === wanted) return id
  for (const [alias, id] of Object.entries(table.aliases)) {
    if (alias.toUpperCase() === wanted) return id
  }
  return undefined
}

/** Like `findBuiltinZone`, but throws `WL_UNKNOWN_ZONE` with close matches. */
export function requireBuiltinZone(table: BuiltinIntensityTable, zone: string): string {
  const id = findBuiltinZone(table, zone)
  if (id !== undefined) return id
  throw unknownZoneError(zone, [...Object.keys(table.zones), ...Object.keys(table.aliases)])
}

/** A `WL_UNKNOWN_ZONE` error listing the closest known zones. */
export function unknownZoneError(zone: string, known: readonly string[]): WattlineError {
  const matches = closeMatches(zone, known)
  const hint = matches.length > 0 ? `; did you mean ${matches.join(', ')}?` : ''
  return new WattlineError('WL_UNKNOWN_ZONE', `unknown zone "${zone}"${hint}`, {
    details: { zone, matches },
  })
}

/** The typical value for `zone` in the hour containing `at` (UTC month and hour of the profile). */
export function builtinIntensityAt(
  table: BuiltinIntensityTable,
  zone: string,
  at: Instant,
): IntensityPoint {
  const id = requireBuiltinZone(table, zone)
  const hourStart = instant(Math.floor(at / MS_PER_HOUR) * MS_PER_HOUR)
  return pointFor(table, id, hourStart)
}

/** Hourly typical points covering [from, to): the first starts at the hour containing `from`. */
export function builtinSeries(
  table: BuiltinIntensityTable,
  zone: string,
  from: Instant,
  to: Instant,
): readonly IntensityPoint[] {
  const id = requireBuiltinZone(table, zone)
  const first = Math.floor(from / MS_PER_HOUR) * MS_PER_HOUR
  const count = to > from ? Math.ceil((to - first) / MS_PER_HOUR) : 0
  if (count > MAX_BUILTIN_POINTS) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `window of ${count} hours is longer than the ${MAX_BUILTIN_POINTS}-hour limit`,
      { details: { from, to } },
    )
  }
  const points: IntensityPoint[] = []
  for (let i = 0; i < count; i++) points.push(pointFor(table, id, instant(first + i * MS_PER_HOUR)))
  return points
}

/** The `source` string each point of `zone` carries. */
export function builtinSourceLabel(table: BuiltinIntensityTable, zone: string): string {
  const z = table.zones[zone]
  if (z === undefined) return `static:${table.version}`
  return z.basis === 'hourly-derived'
    ? `static:${table.version} (${z.ref} mean and typical profile)`
    : `static:${table.version} (annual figure: ${z.ref}; typical profile borrowed from ${z.profileFrom})`
}

function pointFor(table: BuiltinIntensityTable, id: string, at: Instant): IntensityPoint {
  const z = table.zones[id]
  if (z === undefined) throw new WattlineError('WL_INTERNAL', `builtin table lacks zone ${id}`)
  const date = new Date(at)
  const multiplier = table.profiles[z.profileFrom]?.[date.getUTCMonth()]?.[date.getUTCHours()] ?? 1
  return {
    zone: id,
    at,
    intensity: gramsPerKwh(Math.round(z.annualMean * multiplier * 10) / 10),
    signal: 'average',
    source: builtinSourceLabel(table, id),
    forecast: false,
    stale: false,
    provenance: 'static',
  }
}

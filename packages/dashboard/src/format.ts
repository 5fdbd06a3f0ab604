/**
 * @module format
 * Number formatting with units. Every figure on screen goes through here, so units are never dropped.
 */

const sig3 = new Intl.NumberFormat('en', { maximumSignificantDigits: 3 })
const int = new Intl.NumberFormat('en', { maximumFractionDigits: 0 })
const pct = new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 })

/** A number with 3 significant digits (integers above 1,000 keep their digits). */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  return Math.abs(v) >= 1000 ? int.format(v) : sig3.format(v)
}

/** A 0–1 share as a percentage. */
export function percent(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  return pct.format(v)
}

/** Joules, scaled to kJ / MJ / GJ for readability; the unit is part of the string. */
export function energy(j: number | null | undefined): string {
  if (j === null || j === undefined || !Number.isFinite(j)) return '–'
  const a = Math.abs(j)
  if (a >= 1e9) return `${sig3.format(j / 1e9)} GJ`
  if (a >= 1e6) return `${sig3.format(j / 1e6)} MJ`
  if (a >= 1e3) return `${sig3.format(j / 1e3)} kJ`
  return `${sig3.format(j)} J`
}

/** Grams CO2e, scaled to kg / t. */
export function carbon(g: number | null | undefined): string {
  if (g === null || g === undefined || !Number.isFinite(g)) return '–'
  const a = Math.abs(g)
  if (a >= 1e6) return `${sig3.format(g / 1e6)} tCO2e`
  if (a >= 1e3) return `${sig3.format(g / 1e3)} kgCO2e`
  return `${sig3.format(g)} gCO2e`
}

/** A UTC time, `2025-06-16 09:00 UTC`. */
export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** A short UTC time of day, `09:00`, or a date when the span is long. */
export function axisTime(ms: number, spanMs: number): string {
  const iso = new Date(ms).toISOString()
  return spanMs > 2 * 86_400_000 ? iso.slice(5, 10) : iso.slice(11, 16)
}

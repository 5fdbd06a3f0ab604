/**
 * @module report/format
 * Number and figure formatting shared by the Markdown and HTML renderers: significant digits rather
 * than fixed decimals, because report figures span nanograms per token to tonnes per year.
 */
import type { Figure } from './report-schema.ts'

/** Formats `n` with `digits` significant digits (no exponent for ordinary magnitudes). */
export function fmt(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  if (n === 0) return '0'
  const abs = Math.abs(n)
  if (abs >= 1e-4 && abs < 1e15) {
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)))
    return n.toLocaleString('en-US', {
      maximumFractionDigits: Math.min(decimals, 20),
      minimumFractionDigits: 0,
    })
  }
  return n.toExponential(digits - 1)
}

/** `670 Wh` */
export function withUnit(n: number | null | undefined, unit: string, digits = 3): string {
  return n === null || n === undefined ? '–' : `${fmt(n, digits)} ${unit}`
}

/** The interval of a figure: `610–730`. */
export function interval(f: Figure | null): string {
  return f === null ? '–' : `${fmt(f.low)}–${fmt(f.high)}`
}

/** `2024-03-01 00:05 UTC` from an ISO instant. */
export function when(isoText: string | null): string {
  if (isoText === null) return '–'
  return `${isoText.slice(0, 10)} ${isoText.slice(11, 16)} UTC`
}

/** Percent with one decimal: `23.1 %`. */
export function pct(n: number): string {
  return `${n.toFixed(1)} %`
}

/** The first 16 hex digits of a hash, for display; the full hash is in the JSON. */
export function shortHash(hash: string | null): string {
  return hash === null ? 'none (empty ledger)' : `${hash.slice(0, 16)}…`
}

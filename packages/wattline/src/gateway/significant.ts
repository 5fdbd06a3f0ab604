/**
 * @module gateway/significant
 * `Number(x.toPrecision(6))` — a number rounded to 6 significant digits, as the accounting headers
 * and the ledger's `routing_reason` write them — computed without the decimal string round trip.
 *
 * On Node 20, `toPrecision` then `Number` costs ≈ 125 ns and a string per number (five per
 * request); this ≈ 25 ns and none (docs/benchmarks.md "Per-request allocation (issue 13)"). The
 * result is the same double, bit for bit (the property test compares it with `toPrecision` on
 * arbitrary doubles): `x · 10^k` (k = 5 − ⌊log10 |x|⌋, an exact power of ten) is one correctly
 * rounded operation, so it is within 2^-53 relative of the exact product; where that leaves the
 * rounding in doubt (a fraction within 10^-6 of ½, a log10 off by one, a value rounding up to the
 * next decade) or the scale is not an exact double (|x| outside [1e-16, 1e21)), it is
 * `toPrecision` itself. The 6-digit integer n then divided by (or multiplied by) the exact power
 * of ten is correctly rounded too: the double nearest n · 10^-k, which is what `Number` parses.
 */

/** 10^0 … 10^22: every one exact as a double. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${String(i)}`))

/** `Number(x.toPrecision(6))`, exactly. */
export function sixSignificant(x: number): number {
  const ax = x < 0 ? -x : x
  if (!(ax >= 1e-16 && ax < 1e21)) return Number(x.toPrecision(6))
  const k = 5 - Math.floor(Math.log10(ax))
  const scaled = k >= 0 ? ax * (POW10[k] as number) : ax / (POW10[-k] as number)
  // log10 off by one near a power of ten, or a value that rounds up to the next decade
  if (scaled < 99_999.5 || scaled >= 999_999.5) return Number(x.toPrecision(6))
  const whole = Math.floor(scaled)
  const fraction = scaled - whole
  // too close to a tie to tell which way the exact value rounds
  if (Math.abs(fraction - 0.5) < 1e-6) return Number(x.toPrecision(6))
  const n = fraction > 0.5 ? whole + 1 : whole
  const v = k >= 0 ? n / (POW10[k] as number) : n * (POW10[-k] as number)
  return x < 0 ? -v : v
}

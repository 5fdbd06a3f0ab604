/**
 * @module reliability/scale
 * The reliability suite (`*.reliability.test.ts`: real processes on loopback, no mocks) runs in two
 * sizes. `npm test` (and so `.ci/run`) runs the short size; `npm run test:reliability` sets
 * `WATTLINE_RELIABILITY=full` and runs the figures quoted in docs/reliability.md.
 */

/** `full` under `npm run test:reliability`, `short` otherwise. */
export const reliabilityScale: 'full' | 'short' =
  process.env['WATTLINE_RELIABILITY'] === 'full' ? 'full' : 'short'

/** The full-size figure under `npm run test:reliability`, the short one in the ordinary suite. */
export function atScale<T>(full: T, short: T): T {
  return reliabilityScale === 'full' ? full : short
}

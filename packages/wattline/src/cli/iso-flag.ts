/**
 * @module cli/iso-flag
 * The one parser for date-time flags (`--at`, `--from`, `--to`, `--generated-at`): an ISO 8601
 * date-time with at least a calendar date, else exit 2 naming the flag.
 */
import { instant, type Instant } from '@wattline/core'
import { EXIT, ExitError } from './exit-codes.ts'

/** Parses `text` given to `flag` as an ISO 8601 date-time (epoch ms, UTC). */
export function parseIsoFlag(flag: string, text: string): Instant {
  const ms = Date.parse(text)
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || !Number.isFinite(ms)) {
    throw new ExitError(
      EXIT.badInput,
      `${flag} must be an ISO 8601 time (e.g. 2026-01-31T00:00:00Z), got ${JSON.stringify(text)}`,
    )
  }
  return instant(ms)
}

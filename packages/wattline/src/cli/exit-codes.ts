/**
 * @module cli/exit-codes
 * The CLI's documented exit codes (docs/cli.md). Commands return one or throw `ExitError`;
 * only `cli/main.ts` ends the process.
 */
import { WattlineError } from '@wattline/core'

export const EXIT = Object.freeze({
  /** Success, or a positive verdict (gate pass, ledger intact). */
  ok: 0,
  /** A negative verdict: over budget, ledger tampered. */
  negative: 1,
  /** Bad input: unknown model/zone, malformed file, invalid config or flags. */
  badInput: 2,
  /** An internal error (a bug): please report it. */
  internal: 3,
})
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** Thrown by a command to end with a specific exit code and message on stderr. */
export class ExitError extends Error {
  readonly exitCode: ExitCode
  constructor(exitCode: ExitCode, message: string) {
    super(message)
    this.name = 'ExitError'
    this.exitCode = exitCode
  }
}

/** Error codes that mean "the user's input was wrong" (exit 2); everything else typed is operational. */
const BAD_INPUT_CODES = new Set<string>([
  'WL_INVALID_INPUT',
  'WL_UNKNOWN_MODEL',
  'WL_UNKNOWN_HARDWARE',
  'WL_UNKNOWN_ZONE',
  'WL_UNKNOWN_REGION',
  'WL_DATA_FORMAT',
  'WL_CONFIG_INVALID',
  'WL_TRACE_FORMAT',
  'WL_NO_INTENSITY_DATA',
  'WL_NO_MEASURED_PROFILE',
])

/** Maps any thrown value to an exit code and a one-paragraph message for stderr. */
export function toExit(error: unknown): { code: ExitCode; message: string } {
  if (error instanceof ExitError) return { code: error.exitCode, message: error.message }
  if (error instanceof WattlineError) {
    const code = BAD_INPUT_CODES.has(error.code) ? EXIT.badInput : EXIT.internal
    return { code, message: `${error.code}: ${error.message}` }
  }
  const commanderCode = (error as { code?: unknown } | null)?.code
  if (typeof commanderCode === 'string' && commanderCode.startsWith('commander.')) {
    return { code: EXIT.badInput, message: '' }
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error)
  return {
    code: EXIT.internal,
    message: `internal error (a bug in wattline; please report it with this output):\n${detail}`,
  }
}

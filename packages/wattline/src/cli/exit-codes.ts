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

/** File-system failures on a path the user named (`--out`, `--markdown`, …): bad input, not a bug. */
const FILE_ERRNOS = new Set([
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EEXIST',
  'ENAMETOOLONG',
])

/** Connection failures to a server the user named (a ledger database, Redis, an API). */
const NETWORK_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

interface SystemErrorShape {
  readonly code?: unknown
  readonly syscall?: unknown
  readonly path?: unknown
  readonly address?: unknown
  readonly port?: unknown
  readonly hostname?: unknown
}

/**
 * Node's own system errors that reach the top: a file that cannot be opened where the user said, a
 * server that does not answer where the user (or the config) said. They are the user's to fix, so
 * exit 2 naming the path or address, never "a bug" with a stack.
 */
function systemErrorExit(error: Error): { code: ExitCode; message: string } | undefined {
  const e = error as Error & SystemErrorShape
  if (typeof e.code !== 'string') return undefined
  if (FILE_ERRNOS.has(e.code) && typeof e.path === 'string' && typeof e.syscall === 'string') {
    return {
      code: EXIT.badInput,
      message: `WL_INVALID_INPUT: cannot ${e.syscall} ${e.path}: ${e.message} (check the path and its folder)`,
    }
  }
  if (NETWORK_ERRNOS.has(e.code)) {
    const where =
      typeof e.address === 'string'
        ? `${e.address}${typeof e.port === 'number' ? `:${String(e.port)}` : ''}`
        : typeof e.hostname === 'string'
          ? e.hostname
          : 'a server'
    return {
      code: EXIT.badInput,
      message: `WL_INVALID_INPUT: could not connect to ${where} (${e.code}: ${e.message || 'connection failed'}); is the server named in the flags or the config (ledger database, Redis, an API) running, and is its URL right?`,
    }
  }
  return undefined
}

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
  const system = error instanceof Error ? systemErrorExit(error) : undefined
  if (system !== undefined) return system
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error)
  return {
    code: EXIT.internal,
    message: `internal error (a bug in wattline; please report it with this output):\n${detail}`,
  }
}

/**
 * @module cli/run-cli.test-support
 * Test support: runs CLI commands in process with captured stdout and stderr (a `CliIo` whose
 * writes are kept in memory), so command tests assert on exit code and output without a child
 * process.
 */
import type { CliIo } from './io.ts'
import { runCli } from './program.ts'

export interface CaptureOptions {
  /** Working directory the command sees (default: the test process's). */
  readonly cwd?: string
  /** Environment the command sees (default: empty). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Stop request for long-running commands (default: never stopped). */
  readonly stopSignal?: AbortSignal
}

export interface CapturedIo {
  readonly io: CliIo
  /** Everything written to stdout so far. */
  out(): string
  /** Everything written to stderr so far. */
  err(): string
}

/** Result of one captured CLI run: exit code (see exit-codes.ts) and all of stdout and stderr. */
export interface CliRun {
  readonly code: number
  readonly out: string
  readonly err: string
}

/** A `CliIo` that keeps what is written, for commands started by hand (e.g. long-running ones). */
export function captureIo(options: CaptureOptions = {}): CapturedIo {
  let out = ''
  let err = ''
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    stopSignal: options.stopSignal ?? new AbortController().signal,
  }
  return { io, out: () => out, err: () => err }
}

/** Runs `wattline <args>` in process and resolves when the command finishes. */
export async function runCaptured(
  args: readonly string[],
  options: CaptureOptions = {},
): Promise<CliRun> {
  const c = captureIo(options)
  const code = await runCli(args, c.io)
  return { code, out: c.out(), err: c.err() }
}

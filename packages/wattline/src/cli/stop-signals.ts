/**
 * @module cli/stop-signals
 * Turns SIGINT/SIGTERM into one stop request for the long-running commands (`serve`, `demo`,
 * `simulate-backend`), which then drain, seal the ledger and exit on their own.
 *
 * One Ctrl-C under `npm start` (or `npm run wattline -- serve`) reaches the process twice: the
 * terminal sends SIGINT to the whole foreground process group, and npm forwards the SIGINT it
 * received to its child a few milliseconds later. With a one-shot handler the second copy found no
 * listener and node's default action killed the process half-way through its shutdown: no final
 * summary, the ledger's open block unsealed, the demo's temporary folder left behind. So a repeat
 * that arrives within `repeatGraceMs` of the first signal is the same request and is ignored; a
 * signal after that is the user insisting, and stops the process at once (exit 128 + signal number,
 * the shell's convention), saying what was skipped.
 */

/** The part of `process` this module uses (an EventEmitter in tests). */
export interface SignalSource {
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown
}

export interface StopSignalOptions {
  /** Aborted on the first SIGINT or SIGTERM. */
  readonly controller: AbortController
  /** Monotonic clock in ms (performance.now). */
  readonly nowMs: () => number
  /** Called on a signal that arrives `repeatGraceMs` or more after the first: stop now. */
  readonly forceExit: (signal: 'SIGINT' | 'SIGTERM', exitCode: number) => void
  /** Repeats within this many ms of the first signal are the same request; default 1000. */
  readonly repeatGraceMs?: number
}

/** Exit code for a forced stop: 128 + the signal number (SIGINT 2 → 130, SIGTERM 15 → 143). */
export const FORCED_EXIT_CODE: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = {
  SIGINT: 130,
  SIGTERM: 143,
}

/** Default window in which a repeated signal counts as the same stop request (ms). */
export const DEFAULT_REPEAT_GRACE_MS = 1000

/** Installs the SIGINT and SIGTERM listeners on `source`; they stay installed for the process's life. */
export function stopOnSignals(source: SignalSource, options: StopSignalOptions): void {
  const graceMs = options.repeatGraceMs ?? DEFAULT_REPEAT_GRACE_MS
  let firstAtMs: number | undefined
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    source.on(signal, () => {
      const now = options.nowMs()
      if (firstAtMs === undefined) {
        firstAtMs = now
        options.controller.abort()
        return
      }
      if (now - firstAtMs < graceMs) return // the terminal's copy and npm's forwarded copy
      options.forceExit(signal, FORCED_EXIT_CODE[signal])
    })
  }
}

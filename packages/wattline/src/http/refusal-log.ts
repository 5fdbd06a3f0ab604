/**
 * @module http/refusal-log
 * Log lines for refusals that come in floods (429 overload, 503 no healthy backend): the first
 * refusal of a burst is logged at once, the rest of the burst are counted and summarised in one line
 * per window (`suppressed`: how many were not logged one by one). Under sustained overload this is
 * one line per window per kind, not one per request.
 */
import type { Logger } from 'pino'

export interface RefusalEvent {
  readonly status: number
  readonly code: string
  readonly service: string
  readonly message: string
  readonly reqId: string
}

export interface RefusalLog {
  /** Logs `e` or counts it into the open burst of its kind (status and service). */
  note(e: RefusalEvent): void
  /** Writes the summaries of open bursts and stops their timers. */
  close(): void
}

/** Burst window, ms: summaries at most this often per kind. */
export const REFUSAL_LOG_WINDOW_MS = 10_000

export function createRefusalLog(
  logger: Pick<Logger, 'warn' | 'info'>,
  windowMs: number = REFUSAL_LOG_WINDOW_MS,
): RefusalLog {
  interface Burst {
    suppressed: number
    readonly first: RefusalEvent
    readonly timer: NodeJS.Timeout
  }
  const open = new Map<string, Burst>()
  const level = (status: number): 'warn' | 'info' => (status >= 500 ? 'warn' : 'info')
  const summarise = (key: string, b: Burst): void => {
    if (b.suppressed === 0) {
      // A window with no further refusal ends the burst.
      clearInterval(b.timer)
      open.delete(key)
      return
    }
    logger[level(b.first.status)](
      {
        status: b.first.status,
        code: b.first.code,
        service: b.first.service,
        suppressed: b.suppressed,
        window_ms: windowMs,
      },
      `${b.suppressed} more requests refused with ${b.first.status} ${b.first.code} (burst; one line per ${windowMs} ms)`,
    )
    b.suppressed = 0
  }
  return {
    note(e) {
      const key = `${e.status}\u0000${e.service}`
      const b = open.get(key)
      if (b !== undefined) {
        b.suppressed += 1
        return
      }
      logger[level(e.status)](
        { reqId: e.reqId, status: e.status, code: e.code, service: e.service },
        `request refused: ${e.message} (first of a burst: more within ${windowMs} ms are counted, not logged one by one)`,
      )
      const burst: Burst = {
        suppressed: 0,
        first: e,
        timer: setInterval(() => summarise(key, burst), windowMs).unref(),
      }
      open.set(key, burst)
    },
    close() {
      for (const [key, b] of [...open]) {
        if (b.suppressed > 0) summarise(key, b)
        clearInterval(b.timer)
        open.delete(key)
      }
    },
  }
}

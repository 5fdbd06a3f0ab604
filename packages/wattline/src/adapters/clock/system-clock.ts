/**
 * @module adapters/clock/system-clock
 * The live `Clock`: wall-clock time from `Date.now()` and timers from `setTimeout`.
 */
import { instant, type Clock, type Instant } from '@wattline/core'

/** Node's timers fire at most ~24.8 days ahead; longer waits are chained. */
const MAX_TIMEOUT_MS = 2_147_483_647

/** A `Clock` over the system's wall clock (epoch milliseconds, UTC) and real timers. */
export function createSystemClock(): Clock {
  return {
    now(): Instant {
      return instant(Date.now())
    },
    setTimer(at: Instant, fire: () => void): () => void {
      let handle: NodeJS.Timeout | undefined
      let cancelled = false
      const arm = (): void => {
        const wait = at - Date.now()
        handle = setTimeout(
          () => {
            if (cancelled) return
            if (Date.now() >= at) fire()
            else arm()
          },
          Math.min(Math.max(wait, 0), MAX_TIMEOUT_MS),
        )
      }
      arm()
      return () => {
        cancelled = true
        if (handle !== undefined) clearTimeout(handle)
      }
    },
  }
}

/**
 * @module http/service-queue
 * A bounded FIFO of requests waiting for a backend slot, one per service. Beyond `maxSize` waiters,
 * or after `timeoutMs` in the queue, the request is refused with `WL_OVERLOADED` (HTTP 429 with
 * `retry-after-ms`). Memory is bounded by `maxSize` per service.
 */
import { WattlineError, type Clock, type Instant } from '@wattline/core'

export interface ServiceQueue {
  readonly depth: number
  /** Resolves when a slot may have freed; rejects with `WL_OVERLOADED` when full or timed out. */
  wait(signal: AbortSignal, retryAfterMs: number): Promise<void>
  /** Wakes the oldest waiter (a slot freed somewhere). */
  wakeOne(): void
  /** Wakes every waiter (a backend became healthy). */
  wakeAll(): void
}

export interface ServiceQueueOptions {
  readonly service: string
  readonly maxSize: number
  readonly timeoutMs: number
  readonly clock: Clock
  readonly onDepth?: (depth: number) => void
}

interface Waiter {
  resolve(): void
  reject(e: unknown): void
}

/** Creates an empty queue. */
export function createServiceQueue(options: ServiceQueueOptions): ServiceQueue {
  const waiters: Waiter[] = []
  const depthChanged = (): void => options.onDepth?.(waiters.length)

  function remove(w: Waiter): boolean {
    const i = waiters.indexOf(w)
    if (i < 0) return false
    waiters.splice(i, 1)
    depthChanged()
    return true
  }

  return {
    get depth() {
      return waiters.length
    },
    wait(signal, retryAfterMs) {
      if (waiters.length >= options.maxSize) {
        return Promise.reject(overloaded(options.service, 'queue full', retryAfterMs))
      }
      return new Promise<void>((resolve, reject) => {
        let cancelTimer = (): void => {}
        const onAbort = (): void => {
          if (remove(w)) reject(signal.reason)
          cancelTimer()
        }
        const w: Waiter = {
          resolve: () => {
            cancelTimer()
            signal.removeEventListener('abort', onAbort)
            resolve()
          },
          reject,
        }
        waiters.push(w)
        depthChanged()
        const deadline = (options.clock.now() + options.timeoutMs) as Instant
        cancelTimer = options.clock.setTimer(deadline, () => {
          signal.removeEventListener('abort', onAbort)
          if (remove(w))
            reject(
              overloaded(
                options.service,
                `no backend slot within ${options.timeoutMs} ms`,
                retryAfterMs,
              ),
            )
        })
        signal.addEventListener('abort', onAbort, { once: true })
      })
    },
    wakeOne() {
      const w = waiters.shift()
      if (w === undefined) return
      depthChanged()
      w.resolve()
    },
    wakeAll() {
      const all = waiters.splice(0)
      if (all.length > 0) depthChanged()
      for (const w of all) w.resolve()
    },
  }
}

/** The `WL_OVERLOADED` error with its retry hint (ms). */
export function overloaded(service: string, why: string, retryAfterMs: number): WattlineError {
  return new WattlineError(
    'WL_OVERLOADED',
    `service '${service}' is overloaded (${why}); retry later`,
    {
      details: { service, retryAfterMs: Math.max(1, Math.round(retryAfterMs)) },
    },
  )
}

/**
 * @module http/client-abort
 * The abort signal of one proxied request: it fires when the client leaves before its answer was
 * written, and cancels what the request waits on (the service queue, the upstream request through
 * undici, the stream relay, a micro-batched call).
 *
 * Not an `AbortController`: on Node 20 `new AbortController()` builds its signal with
 * `Object.setPrototypeOf` and an EventTarget, ≈ 3.3 µs with one listener added and removed (a
 * micro-benchmark on the development box) against ≈ 0.15 µs for this object, and almost no client
 * ever leaves. It implements the part of `AbortSignal` its consumers use — `aborted`, `reason`,
 * `throwIfAborted()`, `addEventListener('abort', …)` / `removeEventListener` with EventTarget's
 * semantics for them (a listener added twice is called once; one added after the abort is not
 * called; `{ once }` is honoured; a throwing listener is reported as uncaught, after the others
 * ran) — which is what undici checks for (`addEventListener` present: it is an EventTarget).
 */

type AbortListener = ((this: unknown, event: Event) => void) | { handleEvent(event: Event): void }

export class ClientAbort {
  aborted = false
  reason: unknown = undefined
  #listeners: AbortListener[] | undefined = undefined

  /** Aborts with `reason` (once; later calls do nothing) and calls the listeners in order. */
  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listeners = this.#listeners
    this.#listeners = undefined
    if (listeners === undefined) return
    const event = new Event('abort')
    for (const l of listeners) {
      try {
        if (typeof l === 'function') l.call(this, event)
        else l.handleEvent(event)
      } catch (error) {
        // as EventTarget does: the other listeners still run, the error is uncaught
        process.nextTick(() => {
          throw error
        })
      }
    }
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }

  addEventListener(type: string, listener: AbortListener | null, _options?: unknown): void {
    // every listener is called at most once: the signal aborts once, so `{ once }` changes nothing
    if (type !== 'abort' || listener === null || this.aborted) return
    const listeners = (this.#listeners ??= [])
    if (!listeners.includes(listener)) listeners.push(listener)
  }

  removeEventListener(type: string, listener: AbortListener | null, _options?: unknown): void {
    const listeners = this.#listeners
    if (type !== 'abort' || listener === null || listeners === undefined) return
    const i = listeners.indexOf(listener)
    if (i >= 0) listeners.splice(i, 1)
  }

  /**
   * This object where an `AbortSignal` is expected: every consumer of a request's signal uses only
   * the members above (undici, the service queue, the embeddings batcher, the relay, the lease).
   */
  get signal(): AbortSignal {
    return this as unknown as AbortSignal
  }
}

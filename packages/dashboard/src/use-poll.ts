/**
 * @module use-poll
 * Live refresh: loads now, then every `intervalMs` while the tab is visible and refresh is not paused.
 * A hidden tab does not poll; it loads again as soon as it becomes visible. In-flight requests are
 * aborted when the inputs change or the view unmounts.
 */
import { useEffect, useRef, useState } from 'preact/hooks'

export interface Polled<T> {
  readonly data: T | undefined
  readonly error: string | undefined
  readonly updatedAt: number | undefined
}

export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: string,
  intervalMs: number,
  paused: boolean,
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({
    data: undefined,
    error: undefined,
    updatedAt: undefined,
  })
  const loadRef = useRef(load)
  loadRef.current = load

  useEffect(() => {
    let controller: AbortController | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false

    const tick = async (): Promise<void> => {
      if (stopped || document.hidden) return
      controller?.abort()
      controller = new AbortController()
      const mine = controller
      try {
        const data = await loadRef.current(mine.signal)
        if (!mine.signal.aborted) setState({ data, error: undefined, updatedAt: Date.now() })
      } catch (e) {
        if (mine.signal.aborted) return
        const message = e instanceof Error ? e.message : String(e)
        setState((s) => ({ ...s, error: message }))
      } finally {
        if (!stopped && !paused && !mine.signal.aborted)
          timer = setTimeout(() => void tick(), intervalMs)
      }
    }
    const onVisibility = (): void => {
      if (!document.hidden) {
        clearTimeout(timer)
        void tick()
      }
    }
    void tick()
    document.addEventListener('visibilitychange', onVisibility)
    return () => {
      stopped = true
      clearTimeout(timer)
      controller?.abort()
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, [key, intervalMs, paused])

  return state
}

/**
 * The frame of a view: its heading (focused when the view is switched to, so screen readers announce
 * it), the load error if any, and when the figures were last refreshed.
 */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef } from 'preact/hooks'

export interface ViewFrameProps {
  readonly id: string
  readonly title: string
  readonly intro: string
  readonly error: string | undefined
  readonly updatedAt: number | undefined
  readonly loaded: boolean
  readonly focusOnMount: boolean
  readonly children: ComponentChildren
}

export function ViewFrame(p: ViewFrameProps) {
  const heading = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (p.focusOnMount) heading.current?.focus()
  }, [p.id, p.focusOnMount])
  return (
    <section aria-labelledby={`${p.id}-heading`} class="view" data-view={p.id}>
      <h2 id={`${p.id}-heading`} tabIndex={-1} ref={heading}>
        {p.title}
      </h2>
      <p class="intro">{p.intro}</p>
      {p.error !== undefined && (
        <p role="alert" class="error">
          Could not refresh: {p.error}
        </p>
      )}
      {p.loaded ? p.children : <p aria-busy="true">Loading…</p>}
      {p.updatedAt !== undefined && (
        <p class="updated">Updated {new Date(p.updatedAt).toISOString().slice(11, 19)} UTC</p>
      )}
    </section>
  )
}

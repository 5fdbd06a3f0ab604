/**
 * A view over one API endpoint: polls it (see use-poll.ts) and shows the result inside the view's
 * frame (heading, intro, load error, "Updated" time), rendering `children(data)` once loaded.
 */
import type { ComponentChildren } from 'preact'
import { getJson } from '../api.ts'
import { usePoll } from '../use-poll.ts'
import { viewQuery, type ViewProps } from '../views/view-props.ts'
import { ViewFrame } from './view-frame.tsx'

export interface PolledViewProps<T> {
  readonly id: string
  readonly title: string
  readonly intro: string
  /** Path relative to the API root, e.g. `zones`. */
  readonly path: string
  /** Query parameters (default: the view's `span` and `tenant`); polling restarts when they or the path change. */
  readonly params?: Readonly<Record<string, string>>
  /** What the shell passed to the view: window, refresh interval and pause, focus. */
  readonly view: ViewProps
  readonly children: (data: T) => ComponentChildren
}

export function PolledView<T>(p: PolledViewProps<T>) {
  const params = p.params ?? viewQuery(p.view)
  const { data, error, updatedAt } = usePoll(
    (signal) => getJson<T>(p.path, params, signal),
    `${p.path}?${new URLSearchParams(params).toString()}`,
    p.view.intervalMs,
    p.view.paused,
  )
  return (
    <ViewFrame
      id={p.id}
      title={p.title}
      intro={p.intro}
      error={error}
      updatedAt={updatedAt}
      loaded={data !== undefined}
      focusOnMount={p.view.focusOnMount}
    >
      {data !== undefined && p.children(data)}
    </ViewFrame>
  )
}

/** What every view receives from the shell. */
export interface ViewProps {
  /** The window, as the API's `span` parameter (`1h`, `24h`, `7d`…). */
  readonly span: string
  /** One tenant's view (the API's `tenant` parameter), or '' for every tenant. */
  readonly tenant: string
  readonly paused: boolean
  readonly intervalMs: number
  /** Move focus to the view's heading when it mounts (after the user switched views). */
  readonly focusOnMount: boolean
}

/** The query of a view's requests: its window and, when one is chosen, its tenant. */
export function viewQuery(view: Pick<ViewProps, 'span' | 'tenant'>): Record<string, string> {
  return view.tenant === '' ? { span: view.span } : { span: view.span, tenant: view.tenant }
}

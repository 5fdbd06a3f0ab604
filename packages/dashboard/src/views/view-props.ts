/** What every view receives from the shell. */
export interface ViewProps {
  /** The window, as the API's `span` parameter (`1h`, `24h`, `7d`…). */
  readonly span: string
  readonly paused: boolean
  readonly intervalMs: number
  /** Move focus to the view's heading when it mounts (after the user switched views). */
  readonly focusOnMount: boolean
}

/**
 * A headline figure: label, value with unit, method (measured/modelled), interval and source.
 */
import type { ComponentChildren } from 'preact'
import type { Method } from '@wattline/core'

export interface StatProps {
  readonly label: string
  /** Formatted value, unit included (e.g. `129 Wh/1k requests`). */
  readonly value: string
  readonly method?: Method | undefined
  /** Formatted interval, e.g. `110–150`. */
  readonly interval?: string | undefined
  readonly source?: string | undefined
  readonly children?: ComponentChildren
}

export function Stat({ label, value, method, interval, source, children }: StatProps) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd>
        <span class="stat-value">{value}</span>
        {method !== undefined && <MethodBadge method={method} />}
        {interval !== undefined && <span class="stat-interval">interval {interval}</span>}
        {source !== undefined && <span class="stat-source">source: {source}</span>}
        {children}
      </dd>
    </div>
  )
}

export function MethodBadge({ method }: { readonly method: Method }) {
  return (
    <span
      class={`badge badge-${method}`}
      title={
        method === 'measured'
          ? 'Measured by a power meter'
          : 'Modelled from an energy profile (estimate)'
      }
    >
      {method}
    </span>
  )
}

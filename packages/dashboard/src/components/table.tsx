/**
 * Small table helpers: a captioned, scrollable table with column headers.
 */
import type { ComponentChildren } from 'preact'

export interface DataTableProps {
  readonly caption: string
  readonly headers: readonly string[]
  readonly children: ComponentChildren
  readonly empty?: string | undefined
  readonly rows: number
}

export function DataTable({ caption, headers, children, empty, rows }: DataTableProps) {
  return (
    <div class="table-scroll">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {headers.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows === 0 ? (
            <tr>
              <td colSpan={headers.length}>{empty ?? 'No data in this window.'}</td>
            </tr>
          ) : (
            children
          )}
        </tbody>
      </table>
    </div>
  )
}

/** A labelled 0–1 meter with its percentage in text. */
export function Ratio({
  value,
  label,
  high,
}: {
  readonly value: number | null
  readonly label: string
  readonly high?: number
}) {
  if (value === null) return <span>–</span>
  return (
    <span class="ratio">
      <meter
        min={0}
        max={Math.max(1, high ?? 1)}
        low={0.8}
        high={1}
        optimum={0}
        value={value}
        aria-label={label}
      />
      <span>{(value * 100).toFixed(0)} %</span>
    </span>
  )
}

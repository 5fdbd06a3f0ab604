/**
 * @module compose/worker-protocol
 * The messages between the `serve --workers N` primary and its worker processes (node:cluster IPC,
 * `advanced` serialization: structured clone). Every message has a `type` starting with `wl:`, so
 * a handler can ignore what it does not know (prom-client and node:cluster send their own).
 *
 * worker → primary: `ledger` (a batch of chained records for the primary's one writer),
 * `metrics` (a scrape of `/metrics` landed on this worker: send the whole cluster's text),
 * `listening` (the worker's URL, once), `occupancy` (its requests in flight per backend, when they
 * changed). primary → worker: `ledger-ack`, `metrics-text`, `metrics-json?` (send this worker's
 * registry as JSON), `occupancy-others` (what the other workers have in flight per backend:
 * `compose/worker-occupancy.ts`), `stop` (drain and exit).
 */
import type { AuditRecord } from '@wattline/core'
import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { FleetOccupancy } from './worker-occupancy.ts'

/** Env var that tells a forked process which worker it is (0-based index) and how many there are. */
export const WORKER_INDEX_ENV = 'WATTLINE_WORKER_INDEX'
export const WORKER_COUNT_ENV = 'WATTLINE_WORKER_COUNT'

/** One registry's metrics as `getMetricsAsJSON()` returns them. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[]

export type WorkerToPrimary =
  | {
      readonly type: 'wl:ledger'
      readonly id: number
      readonly records: readonly AuditRecord[]
      /** Seal the open block once these are written (the worker is closing its ledger). */
      readonly seal: boolean
    }
  | { readonly type: 'wl:metrics'; readonly id: number }
  | { readonly type: 'wl:metrics-json'; readonly id: number; readonly metrics: MetricsJson }
  | { readonly type: 'wl:listening'; readonly url: string }
  | { readonly type: 'wl:occupancy'; readonly backends: FleetOccupancy }

export type PrimaryToWorker =
  | { readonly type: 'wl:ledger-ack'; readonly id: number; readonly error?: string }
  | {
      readonly type: 'wl:metrics-text'
      readonly id: number
      readonly text?: string
      readonly error?: string
    }
  | { readonly type: 'wl:metrics-json?'; readonly id: number }
  | { readonly type: 'wl:occupancy-others'; readonly backends: FleetOccupancy }
  | { readonly type: 'wl:stop' }

/** True for an object whose `type` is a string starting with `wl:` (ours, not another module's). */
export function isWattlineMessage(message: unknown): message is { readonly type: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { type?: unknown }).type === 'string' &&
    (message as { type: string }).type.startsWith('wl:')
  )
}

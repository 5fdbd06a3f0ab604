/**
 * @module compose/worker-process
 * The worker side of `serve --workers N` (the primary is `compose/workers.ts`). A worker runs the
 * whole live gateway (`startLiveGateway`) on the listening socket the primary shares, with three
 * differences, all passed in as `LiveWorker`:
 *
 * - **Ledger.** Its batch writer's backend forwards each batch to the primary over IPC
 *   (`wl:ledger`) instead of chaining it here; the primary appends it to the one writer of the one
 *   hash chain and acknowledges. What a worker crash loses is what it had not yet sent: its buffer
 *   (at most `ledger.flush_interval_ms` of records) and a batch on the wire.
 * - **Metrics.** Its registry answers `/metrics` with the whole gateway's text, which the primary
 *   merges from every worker (`compose/worker-metrics.ts`); the primary reads this worker's own
 *   metrics as JSON (`wl:metrics-json?`).
 * - **Limits.** Its config carries its share of each backend's `max_concurrency` without the
 *   cluster Redis (`compose/worker-share.ts`).
 * - **Energy.** It reports its requests in flight per backend to the primary and learns the other
 *   workers', so its trackers account each backend at its total occupancy; only worker 0 records
 *   idle energy and the backend-wide power samples (`compose/worker-occupancy.ts`).
 *
 * A worker stops (drains, flushes its ledger to the primary, exits 0) on `wl:stop`, on its own
 * SIGINT/SIGTERM, or when the primary goes away.
 */
import type { AuditRecord } from '@wattline/core'
import { WattlineError } from '@wattline/core'
import { Registry } from 'prom-client'
import type { ChainBackend } from '../adapters/storage/ledger-writer.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import { shareConfig } from './worker-share.ts'
import { IDLE_WORKER, OCCUPANCY_INTERVAL_MS, type FleetOccupancy } from './worker-occupancy.ts'
import {
  WORKER_COUNT_ENV,
  WORKER_INDEX_ENV,
  isWattlineMessage,
  type PrimaryToWorker,
  type WorkerToPrimary,
} from './worker-protocol.ts'

/** How long a worker waits for the primary's merged metrics before `/metrics` fails, ms. */
const METRICS_TIMEOUT_MS = 5000

/** What `startLiveGateway` changes in a worker process. */
export interface LiveWorker {
  /** 0-based index of this worker. */
  readonly index: number
  readonly count: number
  /** The ledger backend that forwards batches to the primary. */
  readonly ledgerBackend: ChainBackend
  /** The registry the gateway registers its metrics in; its `metrics()` is the whole gateway's. */
  readonly registry: Registry
  /** The config this worker runs (its share of each backend's limit). */
  shareConfig(config: WattlineConfig): WattlineConfig
  /**
   * True in the one worker that records the backends' idle energy and power samples (worker 0):
   * they are the backend's, not a worker's, and go in the ledger once.
   */
  readonly recordsBackendEnergy: boolean
  /**
   * Starts sharing occupancy with the other workers: `report()` (this worker's requests in flight
   * per backend) is sent to the primary every `OCCUPANCY_INTERVAL_MS` when it changed, and
   * `apply(others)` receives the sum of the other workers' reports. Returns the stop function.
   */
  shareOccupancy(report: () => FleetOccupancy, apply: (others: FleetOccupancy) => void): () => void
}

export interface WorkerLink extends LiveWorker {
  /** Aborted on `wl:stop` from the primary or when the primary goes away. */
  readonly stopSignal: AbortSignal
  /** Tells the primary this worker listens at `url`. */
  listening(url: string): void
  /** Stops listening to the primary (after the gateway closed). */
  close(): void
}

/** True in a process the `serve --workers N` primary forked. */
export function isServeWorker(env: Readonly<Record<string, string | undefined>>): boolean {
  return typeof process.send === 'function' && env[WORKER_INDEX_ENV] !== undefined
}

/** The registry whose text is the whole gateway's (asked of the primary). */
class ClusterViewRegistry extends Registry {
  readonly #merged: () => Promise<string>
  constructor(merged: () => Promise<string>) {
    super()
    this.#merged = merged
  }
  override metrics(): Promise<string> {
    return this.#merged()
  }
}

interface Waiter<T> {
  resolve(value: T): void
  reject(error: Error): void
}

/** Connects this worker process to its primary (call once, in the worker). */
export function connectToPrimary(env: Readonly<Record<string, string | undefined>>): WorkerLink {
  const index = Number(env[WORKER_INDEX_ENV])
  const count = Number(env[WORKER_COUNT_ENV])
  const stop = new AbortController()
  const acks = new Map<number, Waiter<void>>()
  const texts = new Map<number, Waiter<string>>()
  let nextId = 1
  let applyOthers: ((others: FleetOccupancy) => void) | undefined
  let occupancyTimer: NodeJS.Timeout | undefined

  const send = (message: WorkerToPrimary): Promise<void> =>
    new Promise((resolve, reject) => {
      if (process.send === undefined || !process.connected) {
        reject(new WattlineError('WL_LEDGER_WRITE', 'the serve --workers primary is gone'))
        return
      }
      process.send(message, undefined, {}, (err) => {
        if (err === null) resolve()
        else reject(err)
      })
    })

  const registry = new ClusterViewRegistry(() => {
    const id = nextId++
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        texts.delete(id)
        reject(
          new Error(`the primary did not answer a metrics scrape within ${METRICS_TIMEOUT_MS} ms`),
        )
      }, METRICS_TIMEOUT_MS)
      texts.set(id, {
        resolve: (text) => {
          clearTimeout(timer)
          resolve(text)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      send({ type: 'wl:metrics', id }).catch((error: unknown) =>
        texts.get(id)?.reject(error as Error),
      )
    })
  })

  const onMessage = (message: unknown): void => {
    if (!isWattlineMessage(message)) return
    const m = message as PrimaryToWorker
    switch (m.type) {
      case 'wl:ledger-ack': {
        const w = acks.get(m.id)
        acks.delete(m.id)
        if (m.error === undefined) w?.resolve()
        else w?.reject(new WattlineError('WL_LEDGER_WRITE', m.error))
        return
      }
      case 'wl:metrics-text': {
        const w = texts.get(m.id)
        texts.delete(m.id)
        if (m.text !== undefined) w?.resolve(m.text)
        else w?.reject(new Error(m.error ?? 'metrics merge failed'))
        return
      }
      case 'wl:metrics-json?':
        void registry
          .getMetricsAsJSON()
          .then((metrics) => send({ type: 'wl:metrics-json', id: m.id, metrics }))
          .catch(() => undefined)
        return
      case 'wl:occupancy-others':
        applyOthers?.(m.backends)
        return
      case 'wl:stop':
        stop.abort()
        return
    }
  }
  process.on('message', onMessage)
  const onDisconnect = (): void => {
    const gone = new WattlineError('WL_LEDGER_WRITE', 'the serve --workers primary is gone')
    for (const w of [...acks.values(), ...texts.values()]) w.reject(gone)
    acks.clear()
    texts.clear()
    stop.abort()
  }
  process.once('disconnect', onDisconnect)

  const ledgerBackend: ChainBackend = {
    // The open block lives in the primary: a worker never asks to seal an aged block on its own.
    state: () => ({ openRows: 0, openedAtMs: 0 }),
    async write(records: readonly AuditRecord[], sealAll: boolean, atMs: number) {
      const id = nextId++
      const acked = new Promise<void>((resolve, reject) => acks.set(id, { resolve, reject }))
      try {
        await send({ type: 'wl:ledger', id, records, seal: sealAll })
      } catch (error) {
        acks.delete(id)
        throw error
      }
      await acked
      return { rows: records.length, blocks: 0, openRows: 0, openedAtMs: atMs }
    },
    close: () => Promise.resolve(),
  }

  return {
    index,
    count,
    ledgerBackend,
    registry,
    stopSignal: stop.signal,
    shareConfig: (config) => shareConfig(config, index, count),
    recordsBackendEnergy: index === IDLE_WORKER,
    shareOccupancy(report, apply) {
      applyOthers = apply
      let last = ''
      clearInterval(occupancyTimer)
      occupancyTimer = setInterval(() => {
        const backends = report()
        const key = JSON.stringify(backends)
        if (key === last) return
        last = key
        send({ type: 'wl:occupancy', backends }).catch(() => undefined)
      }, OCCUPANCY_INTERVAL_MS)
      occupancyTimer.unref()
      return () => {
        clearInterval(occupancyTimer)
        applyOthers = undefined
      }
    },
    listening(url) {
      send({ type: 'wl:listening', url }).catch(() => undefined)
    },
    close() {
      clearInterval(occupancyTimer)
      process.off('message', onMessage)
      process.off('disconnect', onDisconnect)
    },
  }
}

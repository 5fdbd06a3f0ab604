/**
 * @module compose/workers
 * The primary of `wattline serve --workers N`: node:cluster workers, each a whole live gateway on
 * the listening socket the primary shares (Node 20 has no `reusePort`; the primary accepts and
 * hands connections round-robin), around one ledger writer in the primary.
 *
 * - **One hash chain.** The primary opens the ledger (migrations, signing key, the writer thread)
 *   before any worker starts. Workers forward their batches over IPC (`compose/worker-process.ts`);
 *   the primary appends them to its writer's buffer and acknowledges, so a worker that dies loses
 *   only what it had not sent yet. Retention runs here too.
 * - **Whole metrics.** A scrape of `/metrics` on any worker asks the primary, which merges every
 *   worker's registry and its own (`compose/worker-metrics.ts`).
 * - **Limits.** Shared through the cluster Redis when configured; otherwise each worker runs its
 *   share of each backend's `max_concurrency` (`compose/worker-share.ts`, which also refuses what
 *   cannot be split).
 * - **Energy once.** Each worker reports its requests in flight per backend; every
 *   `OCCUPANCY_INTERVAL_MS` (when a report changed) the primary sends each worker the sum of the
 *   others', so each accounts a backend at its total occupancy (`compose/worker-occupancy.ts`).
 * - **Crashes.** A worker that exits unexpectedly is logged and forked again after a backoff
 *   (0.5 s, doubling per crash in a row up to 30 s; a worker that served 30 s resets it), counted
 *   in `wattline_worker_restarts_total`.
 * - **Stop.** `stop()` (SIGINT/SIGTERM on the primary) tells every worker to drain (each stops
 *   accepting, finishes its requests within `gateway.drain_timeout_ms`, flushes its ledger batches
 *   to the primary and exits), kills one that has not exited 10 s after that deadline, then closes
 *   the ledger: the last rows are written and the last block sealed.
 */
import cluster, { type Worker } from 'node:cluster'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WattlineError } from '@wattline/core'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import {
  ledgerOptionsFromConfig,
  openLedger,
  type Ledger,
} from '../adapters/storage/open-ledger.ts'
import { createConfigCatalog } from '../config/catalog.ts'
import { loadConfig } from '../config/load-config.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import { logLedgerError, withBackendUrls } from './live.ts'
import { counterIn } from '../metrics/registry-metrics.ts'
import { mergedMetricsText } from './worker-metrics.ts'
import {
  WORKER_COUNT_ENV,
  WORKER_INDEX_ENV,
  isWattlineMessage,
  type MetricsJson,
  type PrimaryToWorker,
  type WorkerToPrimary,
} from './worker-protocol.ts'
import { checkWorkerConfig } from './worker-share.ts'
import {
  OCCUPANCY_INTERVAL_MS,
  OCCUPANCY_RESEND_TICKS,
  sumOccupancy,
  type FleetOccupancy,
} from './worker-occupancy.ts'

/** The CLI entry the workers run (it registers tsx, then runs `wattline serve …`). */
const WATTLINE_BIN = fileURLToPath(new URL('../../bin/wattline.mjs', import.meta.url))
/** Env var carrying `serve --simulate`'s backend URLs (JSON object, id → URL) to the workers. */
export const WORKER_BACKEND_URLS_ENV = 'WATTLINE_WORKER_BACKEND_URLS'
/** Counter of workers forked again after an unexpected exit. */
export const WORKER_RESTARTS_METRIC = 'wattline_worker_restarts_total'

const RESTART_MIN_MS = 500
const RESTART_MAX_MS = 30_000
/** A worker that lived this long resets its restart backoff, ms. */
const STABLE_MS = 30_000
/** How long the primary waits for a worker's metrics before merging without them, ms. */
const METRICS_PART_TIMEOUT_MS = 2000
/** Grace after `gateway.drain_timeout_ms` before a worker that has not exited is killed, ms. */
const STOP_GRACE_MS = 10_000

export interface WorkerClusterOptions {
  /** Worker processes (≥ 2; one worker is `startLiveGateway` in the serving process). */
  readonly count: number
  /** Absolute path of the config file. */
  readonly configPath: string
  /** The `serve` arguments each worker runs (`--workers` included, `--simulate` left out). */
  readonly args: readonly string[]
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  /** `serve --simulate`: backend URLs by id, started by the primary. */
  readonly backendUrls?: ReadonlyMap<string, string>
  /** Defaults to pino JSON on stdout at the config's level. */
  readonly logger?: Logger
}

export interface WorkerCluster {
  readonly config: WattlineConfig
  /** `http://host:port` the workers listen on. */
  readonly url: string
  readonly ledger: Ledger
  /** Process ids of the workers now alive, by worker index. */
  pids(): readonly (number | undefined)[]
  /** Drains and stops every worker, then closes the ledger. */
  stop(): Promise<void>
}

interface Slot {
  worker: Worker | null
  /** The worker's latest report of its requests in flight per backend. */
  occupancy: FleetOccupancy | undefined
  startedAt: number
  crashesInARow: number
  restartTimer: NodeJS.Timeout | null
}

/** Starts `count` workers; resolves once every one listens. */
export async function startWorkerCluster(options: WorkerClusterOptions): Promise<WorkerCluster> {
  if (!cluster.isPrimary) {
    throw new WattlineError('WL_INTERNAL', 'serve --workers: a worker cannot start workers')
  }
  const baseDir = dirname(options.configPath)
  const loaded = await loadConfig(options.configPath, {
    readFile,
    env: options.env,
    catalog: createConfigCatalog(),
  })
  const urls = options.backendUrls
  const config = urls === undefined ? loaded : withBackendUrls(loaded, urls)
  checkWorkerConfig(config, options.count, options.configPath)
  const logger = (options.logger ?? pino({ level: config.gateway.log_level })).child({
    component: 'workers',
  })
  const registry = new Registry()
  const restarts = counterIn(
    registry,
    WORKER_RESTARTS_METRIC,
    'Gateway worker processes (serve --workers) forked again after an unexpected exit',
    [],
  )
  const ledger = await openLedger(config.ledger.url, {
    ...ledgerOptionsFromConfig(config.ledger, baseDir),
    registry,
    writer: 'auto',
    onError: logLedgerError(logger),
  })
  if (config.ledger.retention_days !== null) {
    ledger.prune().catch((err: unknown) => logger.error({ err }, 'ledger retention failed'))
  }

  cluster.setupPrimary({
    exec: WATTLINE_BIN,
    args: [...options.args],
    // the primary's node flags (e.g. --cpu-prof, --max-old-space-size) apply to the workers too
    execArgv: process.execArgv,
    cwd: options.cwd,
    serialization: 'advanced',
  })
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(options.env)) if (v !== undefined) env[k] = v
  if (urls !== undefined) env[WORKER_BACKEND_URLS_ENV] = JSON.stringify(Object.fromEntries(urls))
  env[WORKER_COUNT_ENV] = String(options.count)

  const slots: Slot[] = Array.from({ length: options.count }, () => ({
    worker: null,
    occupancy: undefined,
    startedAt: 0,
    crashesInARow: 0,
    restartTimer: null,
  }))
  let stopping = false
  let url: string | undefined
  let nextId = 1
  /** Metrics parts awaited, by `<worker id>:<request id>`. */
  const parts = new Map<string, (metrics: MetricsJson | undefined) => void>()
  let startWaiters: {
    listening(i: number): void
    failed(i: number, code: number | null): void
  } | null = null

  const send = (w: Worker, message: PrimaryToWorker): void => {
    if (w.isConnected()) w.send(message, undefined, () => undefined)
  }

  const askMetrics = (w: Worker, id: number): Promise<MetricsJson | undefined> =>
    new Promise((done) => {
      const key = `${w.id}:${id}`
      const timer = setTimeout(() => {
        parts.delete(key)
        done(undefined)
      }, METRICS_PART_TIMEOUT_MS)
      parts.set(key, (m) => {
        clearTimeout(timer)
        parts.delete(key)
        done(m)
      })
      send(w, { type: 'wl:metrics-json?', id })
    })

  // Occupancy: each worker gets the sum of the others' reports, on a tick, when one changed (and
  // again now and then, for a worker forked since).
  let occupancyChanged = false
  let ticksSinceSent = 0
  const occupancyTimer = setInterval(() => {
    ticksSinceSent += 1
    if (!occupancyChanged && ticksSinceSent < OCCUPANCY_RESEND_TICKS) return
    occupancyChanged = false
    ticksSinceSent = 0
    slots.forEach((slot, i) => {
      if (slot.worker === null) return
      const others = sumOccupancy(slots.map((s, j) => (j === i ? undefined : s.occupancy)))
      send(slot.worker, { type: 'wl:occupancy-others', backends: others })
    })
  }, OCCUPANCY_INTERVAL_MS)
  occupancyTimer.unref()

  async function merged(): Promise<string> {
    const id = nextId++
    const alive = slots.flatMap((s) => (s.worker?.isConnected() === true ? [s.worker] : []))
    const got = await Promise.all(alive.map((w) => askMetrics(w, id)))
    const own = await registry.getMetricsAsJSON()
    return mergedMetricsText([own, ...got.filter((m): m is MetricsJson => m !== undefined)])
  }

  function onMessage(i: number, w: Worker, message: unknown): void {
    if (!isWattlineMessage(message)) return
    const m = message as WorkerToPrimary
    switch (m.type) {
      case 'wl:ledger':
        if (m.seal) {
          ledger.sink.writeNow(m.records).then(
            () => send(w, { type: 'wl:ledger-ack', id: m.id }),
            (err: unknown) =>
              send(w, { type: 'wl:ledger-ack', id: m.id, error: (err as Error).message }),
          )
        } else {
          // into the one writer's buffer: from here on the rows outlive the worker
          for (const r of m.records) ledger.sink.appendAudit(r)
          send(w, { type: 'wl:ledger-ack', id: m.id })
        }
        return
      case 'wl:metrics':
        merged().then(
          (text) => send(w, { type: 'wl:metrics-text', id: m.id, text }),
          (err: unknown) =>
            send(w, { type: 'wl:metrics-text', id: m.id, error: (err as Error).message }),
        )
        return
      case 'wl:metrics-json':
        parts.get(`${w.id}:${m.id}`)?.(m.metrics)
        return
      case 'wl:listening':
        url ??= m.url
        startWaiters?.listening(i)
        return
      case 'wl:occupancy': {
        const slot = slots[i] as Slot
        if (slot.worker !== w) return
        slot.occupancy = m.backends
        occupancyChanged = true
        return
      }
    }
  }

  function fork(i: number): void {
    const slot = slots[i] as Slot
    slot.restartTimer = null
    const w = cluster.fork({ ...env, [WORKER_INDEX_ENV]: String(i) })
    slot.worker = w
    slot.startedAt = performance.now()
    w.on('message', (message: unknown) => onMessage(i, w, message))
    w.on('exit', (code, signal) => {
      if (slot.worker === w) {
        slot.worker = null
        // its requests are no longer in flight anywhere
        slot.occupancy = undefined
        occupancyChanged = true
      }
      for (const [key, done] of parts) if (key.startsWith(`${w.id}:`)) done(undefined)
      if (stopping) return
      if (startWaiters !== null) {
        startWaiters.failed(i, code)
        return
      }
      const lived = performance.now() - slot.startedAt
      if (lived >= STABLE_MS) slot.crashesInARow = 0
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** slot.crashesInARow)
      slot.crashesInARow += 1
      restarts.inc()
      logger.error(
        { worker: i, worker_pid: w.process.pid, code, signal, restart_in_ms: delay },
        'gateway worker exited unexpectedly; forking it again',
      )
      slot.restartTimer = setTimeout(() => {
        if (stopping) return
        fork(i)
        logger.info(
          { worker: i, worker_pid: slots[i]?.worker?.process.pid },
          'gateway worker forked again',
        )
      }, delay)
    })
  }

  async function stop(): Promise<void> {
    stopping = true
    for (const s of slots) if (s.restartTimer !== null) clearTimeout(s.restartTimer)
    const alive = slots.flatMap((s) => (s.worker === null ? [] : [s.worker]))
    await Promise.all(
      alive.map(
        (w) =>
          new Promise<void>((done) => {
            if (w.isDead()) {
              done()
              return
            }
            const timer = setTimeout(() => {
              logger.warn(
                { worker_pid: w.process.pid },
                'gateway worker did not stop in time: killed',
              )
              w.process.kill('SIGKILL')
            }, config.gateway.drain_timeout_ms + STOP_GRACE_MS)
            w.once('exit', () => {
              clearTimeout(timer)
              done()
            })
            send(w, { type: 'wl:stop' })
          }),
      ),
    )
    // (the workers learnt each other's occupancy while they drained)
    clearInterval(occupancyTimer)
    await ledger.close()
  }

  try {
    await new Promise<void>((resolveStarted, rejectStarted) => {
      const listening = new Set<number>()
      startWaiters = {
        listening(i) {
          listening.add(i)
          if (listening.size === options.count) resolveStarted()
        },
        failed(i, code) {
          rejectStarted(
            new WattlineError(
              code === 2 ? 'WL_INVALID_INPUT' : 'WL_INTERNAL',
              `serve --workers: worker ${i} exited with code ${String(code)} while starting (its error is above)`,
            ),
          )
        },
      }
      for (let i = 0; i < options.count; i++) fork(i)
    })
  } catch (error) {
    startWaiters = null
    await stop().catch(() => undefined)
    throw error
  }
  startWaiters = null
  return {
    config,
    url: url as string,
    ledger,
    pids: () => slots.map((s) => s.worker?.process.pid),
    stop: (() => {
      let stopped: Promise<void> | undefined
      return () => (stopped ??= stop())
    })(),
  }
}

/** `--workers` as a count: a positive integer; `0` or `auto` = one per CPU (`cpus`). */
export function parseWorkerCount(value: string, cpus: number): number | undefined {
  const v = value.trim().toLowerCase()
  if (v === 'auto' || v === '0') return Math.max(1, cpus)
  if (!/^[0-9]+$/.test(v)) return undefined
  const n = Number(v)
  return n >= 1 && n <= MAX_WORKERS ? n : undefined
}

/** Upper bound of `--workers` (a typo guard, far above any core count this runs on). */
export const MAX_WORKERS = 256

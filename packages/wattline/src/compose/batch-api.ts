/**
 * @module compose/batch-api
 * Wires the Batch API for the live gateway (a composition root: it picks the storage adapters): its
 * own connection to the ledger's database (migration `0004_batch_api`), the service behind the
 * routes, and the scheduler on the gateway's grid clock: the system clock or, with `batch.clock_speed` ≠ 1 (tests, demos), one
 * running that many times faster from `batch.clock_anchor_ms` (the same mapping after a restart).
 */
import { instant, type Clock } from '@wattline/core'
import type { FastifyInstance } from 'fastify'
import { KyselyLedgerStore } from '../adapters/storage/kysely-ledger-store.ts'
import { openDatabase } from '../adapters/storage/open-database.ts'
import {
  createBatchScheduler,
  type BatchScheduler,
  type BatchSchedulerDeps,
} from '../batch/batch-scheduler.ts'
import { createBatchService } from '../batch/batch-service.ts'
import { BatchStore } from '../batch/batch-store.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import { registerBatchRoutes } from '../http/batch-routes.ts'

export interface BatchApi {
  readonly scheduler: BatchScheduler
  readonly store: BatchStore
  /** The fastify plugin with the `/v1/files` and `/v1/batches` routes. */
  register(app: FastifyInstance): Promise<void>
  /** Starts the scheduler against the gateway's own address. */
  start(baseUrl: string): void
  close(): Promise<void>
}

/** The scheduler's clock: real time, or sped up around a fixed anchor (survives restarts). */
export function batchClock(config: WattlineConfig, base: Clock): Clock {
  const { clock_speed: speed, clock_anchor_ms: anchor } = config.batch
  if (speed === 1) return base
  const scaled = (t: number): number => anchor + (t - anchor) * speed
  return {
    now: () => instant(scaled(base.now())),
    setTimer: (at, fire) => base.setTimer(instant(anchor + (at - anchor) / speed), fire),
  }
}

/**
 * Opens the Batch API: the scheduler's own deps (all but the store, which this opens) and the folder
 * a relative ledger URL resolves against. The scheduler runs on `deps.clock`, the grid time of
 * {@link batchClock}.
 */
export async function startBatchApi(
  deps: Omit<BatchSchedulerDeps, 'store'> & { readonly baseDir: string },
): Promise<BatchApi> {
  const opened = await openDatabase(deps.config.ledger.url, { baseDir: deps.baseDir, poolSize: 2 })
  // the ledger has migrated the database (a no-op read here); a `sqlite::memory:` ledger is a
  // database of its own per connection, so this connection migrates its own copy
  try {
    await new KyselyLedgerStore(opened).migrate()
  } catch (error) {
    await opened.db.destroy()
    throw error
  }
  const store = new BatchStore(opened.db as never)
  const clock = deps.clock
  const service = createBatchService({ store, config: deps.config, clock, source: deps.source })
  const { baseDir: _baseDir, ...schedulerDeps } = deps
  const scheduler = createBatchScheduler({
    ...schedulerDeps,
    store,
    logger: deps.logger.child({ component: 'batch' }),
  })
  return {
    scheduler,
    store,
    register: (app) => registerBatchRoutes(app, { config: deps.config, service }),
    start: (url) => scheduler.start(url),
    close: async () => {
      try {
        await scheduler.close()
      } finally {
        await opened.db.destroy()
      }
    },
  }
}

/**
 * @module http/cluster-load
 * The gateway's view of each backend's in-flight requests across replicas (the `cluster:` section),
 * over the `LoadCounters` port. Routing reads a local cache and never waits on Redis: the cache
 * follows the global count Redis answers on each of this replica's acquires and releases, plus a
 * full re-read every `sync_interval_ms`. Only taking a slot (one atomic script) costs a round trip.
 *
 * When Redis fails (a refused connection, a command timeout) the replica falls back to counting its
 * own requests against each `max_concurrency`, as a lone gateway does, logs one warning and sets
 * `wattline_cluster_redis_up` to 0; client requests never fail for it. The next successful sync
 * restores global counting. Requests admitted during an outage hold no lease.
 */
import type { LoadCounters, LoadLease } from '@wattline/core'
import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'

/** How a slot request ended. */
export type ClusterAcquire =
  | { readonly kind: 'acquired'; readonly lease: LoadLease }
  /** Redis is down: the local count was under the limit, the request goes without a lease. */
  | { readonly kind: 'local' }
  /** At the limit (globally, or locally while Redis is down): route elsewhere or queue. */
  | { readonly kind: 'full' }

export interface ClusterLoad {
  /** True while the shared counters answer (global counting); false = local fallback. */
  readonly up: boolean
  /**
   * The in-flight count routing uses for `backend` (count): the last known global count plus this
   * replica's acquires awaiting an answer, never less than the local count; the local count while
   * Redis is down. No I/O.
   */
  inflight(backend: string, local: number): number
  /** Takes a slot on `backend` below `limit` (count); `local` is this replica's own count. */
  acquire(backend: string, limit: number, local: number): Promise<ClusterAcquire>
  /** Gives a slot back (fire and forget; the answer refreshes the cache). No-op for undefined. */
  release(lease: LoadLease | undefined): void
  /** Re-reads every backend's global count; resolves true when Redis answered. Never rejects. */
  sync(): Promise<boolean>
  close(): Promise<void>
}

export interface ClusterLoadDeps {
  readonly counters: LoadCounters
  /** Backend id → zone, for the metric labels (every configured backend). */
  readonly backends: ReadonlyMap<string, string>
  readonly registry: Registry
  readonly logger: Logger
}

/** The cluster metrics (documented in docs/metrics.md), registered only with a `cluster:` section. */
interface ClusterMetrics {
  readonly redisUp: Gauge
  readonly inflight: Gauge<'backend' | 'zone'>
  readonly refused: Counter<'backend' | 'zone'>
  readonly fallbacks: Counter
}

function createClusterMetrics(registry: Registry): ClusterMetrics {
  const on = { registers: [registry] }
  return {
    redisUp: new Gauge({
      name: 'wattline_cluster_redis_up',
      help: '1 while the shared load counters in Redis answer (backend limits hold for the fleet); 0 while this replica counts alone.',
      ...on,
    }),
    inflight: new Gauge({
      name: 'wattline_cluster_backend_inflight',
      help: 'Requests in flight per backend across all replicas, as this replica last saw it (count).',
      labelNames: ['backend', 'zone'],
      ...on,
    }),
    refused: new Counter({
      name: 'wattline_cluster_acquire_refused_total',
      help: 'Slots refused because the backend was full across replicas although the local view had room (the request was routed again).',
      labelNames: ['backend', 'zone'],
      ...on,
    }),
    fallbacks: new Counter({
      name: 'wattline_cluster_fallback_total',
      help: 'Times this replica lost Redis and fell back to counting its own requests.',
      ...on,
    }),
  }
}

/** Wraps the shared counters with the cache, the fallback and the metrics. */
export function createClusterLoad(deps: ClusterLoadDeps): ClusterLoad {
  const { counters, logger } = deps
  const metrics = createClusterMetrics(deps.registry)
  const ids = [...deps.backends.keys()]
  const where = new Map(ids.map((id) => [id, { backend: id, zone: deps.backends.get(id)! }]))
  const global = new Map<string, number>(ids.map((id) => [id, 0]))
  const pending = new Map<string, number>(ids.map((id) => [id, 0]))
  let up = false
  let syncing: Promise<boolean> | undefined
  metrics.redisUp.set(0)

  // The gauge is set on each sync only: no label hashing on the request path.
  const seen = (backend: string, count: number): void => {
    global.set(backend, count)
  }
  const down = (err: unknown): void => {
    if (!up) return
    up = false
    metrics.redisUp.set(0)
    metrics.fallbacks.inc()
    logger.warn({ err }, 'cluster load counters unavailable: counting this replica alone')
  }

  return {
    get up() {
      return up
    },
    inflight(backend, local) {
      if (!up) return local
      return Math.max(local, (global.get(backend) ?? 0) + (pending.get(backend) ?? 0))
    },
    async acquire(backend, limit, local) {
      if (up) {
        pending.set(backend, (pending.get(backend) ?? 0) + 1)
        try {
          const got = await counters.acquire(backend, limit)
          seen(backend, got.inflight)
          if (got.kind === 'acquired') return { kind: 'acquired', lease: got.lease }
          const labels = where.get(backend)
          if (labels !== undefined) metrics.refused.inc(labels)
          return { kind: 'full' }
        } catch (error) {
          down(error)
        } finally {
          pending.set(backend, (pending.get(backend) ?? 1) - 1)
        }
      }
      return local >= limit ? { kind: 'full' } : { kind: 'local' }
    },
    release(lease) {
      if (lease === undefined) return
      // While Redis is down this fails at once (no offline queue); the lease then expires.
      counters.release(lease).then(
        (n) => {
          if (up) seen(lease.backend, n)
        },
        (err: unknown) => down(err),
      )
    },
    sync() {
      // One read at a time: a slow Redis must not pile up overlapping syncs.
      syncing ??= readAll().finally(() => {
        syncing = undefined
      })
      return syncing
    },
    close: () => counters.close(),
  }

  async function readAll(): Promise<boolean> {
    try {
      const counts = await counters.inflight(ids)
      for (const [id, n] of counts) {
        seen(id, n)
        const labels = where.get(id)
        if (labels !== undefined) metrics.inflight.set(labels, n)
      }
      if (!up) {
        up = true
        metrics.redisUp.set(1)
        logger.info('cluster load counters reachable: backend limits hold across replicas')
      }
      return true
    } catch (error) {
      down(error)
      return false
    }
  }
}

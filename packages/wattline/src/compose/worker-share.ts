/**
 * @module compose/worker-share
 * What the workers of `serve --workers N` share, and how, when there is no cluster Redis.
 *
 * With a `cluster:` section whose Redis URL is set, the workers are replicas like any other: each
 * backend's `max_concurrency` holds across them through the Redis lease path, and tenant totals are
 * shared there too. Without it, each worker gets a fixed share of every backend's
 * `max_concurrency`: worker i of N (0-based) takes ⌊m / N⌋, plus one for the first m mod N workers,
 * so the shares add up to exactly m and the limit holds for the gateway. A backend whose limit is
 * below N cannot be split (a worker would get 0 slots): that config is refused, as are tenant
 * budgets (a per-process total would let each tenant spend N × its cap).
 */
import { WattlineError } from '@wattline/core'
import type { WattlineConfig } from '../config/parse-config.ts'

/** True when the workers share backend limits and tenant totals through the cluster Redis. */
export function sharesThroughRedis(config: WattlineConfig): boolean {
  return config.cluster !== undefined && config.secrets.redisUrl !== undefined
}

/** Worker `index`'s share of a limit of `limit` slots split across `count` workers. */
export function workerShare(limit: number, index: number, count: number): number {
  return Math.floor(limit / count) + (index < limit % count ? 1 : 0)
}

/**
 * Refuses a config `count` workers cannot run without breaking a limit (`WL_CONFIG_INVALID`, exit
 * 2): an in-memory SQLite ledger (one process); without the cluster Redis, a backend whose
 * `max_concurrency` is below the worker count, or any tenant budget. No-op for one worker.
 */
export function checkWorkerConfig(config: WattlineConfig, count: number, file: string): void {
  if (count <= 1) return
  if (config.ledger.url === 'sqlite::memory:' || config.ledger.url === 'sqlite:') {
    throw new WattlineError(
      'WL_CONFIG_INVALID',
      `${file}: ledger.url: an in-memory SQLite ledger lives in one process and cannot be shared by --workers ${count}: use a file or PostgreSQL`,
      { details: { file, field: 'ledger.url' } },
    )
  }
  if (sharesThroughRedis(config)) return
  const how =
    'configure the cluster Redis (`cluster:` with its redis_url_env set) so the workers share the limit, or lower --workers'
  for (const [i, b] of config.backends.entries()) {
    if (b.max_concurrency < count) {
      throw new WattlineError(
        'WL_CONFIG_INVALID',
        `${file}: backends[${i}].max_concurrency: ${b.max_concurrency} cannot be split across ${count} workers (each worker gets a share of each backend's limit; one would get 0): ${how}`,
        { details: { file, field: `backends[${i}].max_concurrency` } },
      )
    }
  }
  for (const [i, s] of config.services.entries()) {
    const t = (s.tenants ?? []).findIndex((x) => x.budget !== undefined)
    if (t >= 0) {
      throw new WattlineError(
        'WL_CONFIG_INVALID',
        `${file}: services[${i}].tenants[${t}].budget: tenant budgets with --workers ${count} need the cluster Redis (each worker would count only its own requests, letting a tenant spend ${count} × its cap): ${how}`,
        { details: { file, field: `services[${i}].tenants[${t}].budget` } },
      )
    }
  }
}

/** The config worker `index` of `count` runs: each backend's `max_concurrency` its share. */
export function shareConfig(config: WattlineConfig, index: number, count: number): WattlineConfig {
  if (count <= 1 || sharesThroughRedis(config)) return config
  return Object.freeze({
    ...config,
    backends: config.backends.map((b) =>
      Object.freeze({ ...b, max_concurrency: workerShare(b.max_concurrency, index, count) }),
    ),
  })
}

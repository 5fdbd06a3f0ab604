/**
 * @module compose/cluster
 * Wires the shared load counters of the `cluster:` section: the Redis adapter under the gateway's
 * cluster view (cache, fallback, metrics), and the live scaler's shared load. Used by
 * `compose/live.ts`.
 */
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { openRedisLoadCounters } from '../adapters/load/redis-load-counters.ts'
import { openRedisScalingLoad } from '../adapters/load/redis-scaling-load.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import { createClusterLoad, type ClusterLoad } from '../http/cluster-load.ts'
import type { SharedScalingLoad } from '../scaling/shared-scaling-load.ts'

/**
 * Connects to the configured Redis and reads the global counts once; undefined without a
 * `cluster:` section. An unreachable Redis is not fatal: the replica starts counting alone
 * (`wattline_cluster_redis_up` 0, one warning) and switches to global counts once a sync succeeds.
 */
export async function startClusterLoad(
  config: WattlineConfig,
  deps: { readonly registry: Registry; readonly logger: Logger },
): Promise<ClusterLoad | undefined> {
  const c = config.cluster
  const url = config.secrets.redisUrl
  if (c === undefined || url === undefined) return undefined
  const logger = deps.logger.child({ component: 'cluster' })
  let lastError = ''
  const counters = await openRedisLoadCounters({
    url,
    keyPrefix: c.key_prefix,
    leaseMs: c.lease_ms,
    heartbeatMs: c.heartbeat_ms,
    commandTimeoutMs: c.command_timeout_ms,
    // The client reports each reconnect attempt: log a message once, not once per attempt.
    onError: (err) => {
      const message = (err as Error).message
      if (message !== lastError) logger.debug({ err }, 'redis connection error')
      lastError = message
    },
  })
  const cluster = createClusterLoad({
    counters,
    backends: new Map(config.backends.map((b) => [b.id, b.zone])),
    registry: deps.registry,
    logger,
  })
  if (!(await cluster.sync())) {
    logger.warn(
      { redis_url_env: c.redis_url_env },
      'cluster load counters unavailable at start: counting this replica alone until Redis answers',
    )
  }
  return cluster
}

/**
 * The live scaler's shared load (docs/scaling.md "Several gateway replicas"): with a `cluster:`
 * section and at least one backend with `scaling:`, every replica publishes its window counts to
 * the cluster Redis and serves the leader's recommendation. Undefined otherwise.
 */
export async function startSharedScalingLoad(
  config: WattlineConfig,
  deps: { readonly logger: Logger },
): Promise<SharedScalingLoad | undefined> {
  const c = config.cluster
  const url = config.secrets.redisUrl
  if (c === undefined || url === undefined) return undefined
  if (!config.backends.some((b) => b.scaling !== undefined)) return undefined
  const logger = deps.logger.child({ component: 'scaling' })
  return openRedisScalingLoad({
    url,
    keyPrefix: c.key_prefix,
    commandTimeoutMs: c.command_timeout_ms,
    onError: (err) => logger.debug({ err }, 'redis connection error (scaling)'),
  })
}

/**
 * @module compose/accounting-leader
 * Which gateway replica writes the backend-wide records — idle energy and power samples — in
 * cluster mode (the `cluster:` section): the replica holding the cluster leader lease of the live
 * scaler (`<prefix>:scaling:leader` in the cluster Redis, `adapters/load/redis-scaling-load.ts`),
 * renewed here every `cluster.sync_interval_ms` so that it is held with or without `scaling:`
 * pools. One replica writes them; the others drop theirs. A backend's request energy is shared by
 * occupancy separately (`http/gateway.ts`, from the shared in-flight counts).
 *
 * While Redis does not answer, a replica writes them as a lone gateway does (the counters' fallback:
 * each replica counts alone), so an outage may count idle energy once per replica, never zero times.
 */
import type { Logger } from 'pino'
import { openRedisScalingLoad } from '../adapters/load/redis-scaling-load.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import type { SharedScalingLoad } from '../scaling/shared-scaling-load.ts'

export interface AccountingLeader {
  /** True while this replica writes the backend-wide records (leads, or Redis is unreachable). */
  leads(): boolean
  /** Stops renewing; gives the lease up when this module opened the connection. */
  close(): Promise<void>
}

/** Leases last this many renewal periods (a replica that died is replaced within that). */
const LEASE_PERIODS = 4
/** Shortest lease, ms (a slow Redis round trip must not lose it between renewals). */
const MIN_LEASE_MS = 2000

/**
 * Starts the leadership (first answer awaited); undefined without a `cluster:` section. `shared`:
 * the live scaler's shared load when it has one (its lease and replica id are reused).
 */
export async function startAccountingLeader(
  config: WattlineConfig,
  shared: SharedScalingLoad | undefined,
  logger: Logger,
): Promise<AccountingLeader | undefined> {
  const c = config.cluster
  const url = config.secrets.redisUrl
  if (c === undefined || url === undefined) return undefined
  const log = logger.child({ component: 'accounting-leader' })
  const load =
    shared ??
    (await openRedisScalingLoad({
      url,
      keyPrefix: c.key_prefix,
      commandTimeoutMs: c.command_timeout_ms,
      onError: (err) => log.debug({ err }, 'redis connection error (accounting leader)'),
    }))
  const leaseMs = Math.max(MIN_LEASE_MS, LEASE_PERIODS * c.sync_interval_ms)
  let leading = false
  let alone = false
  const renew = async (): Promise<void> => {
    try {
      leading = await load.lead(leaseMs)
      if (alone) log.info('accounting leader lease reachable again: one replica writes idle energy')
      alone = false
    } catch (err) {
      // info: the load counters already warn once per outage of the same Redis
      if (!alone)
        log.info(
          { err },
          'accounting leader lease unreachable: this replica writes idle energy and power samples alone until Redis answers',
        )
      alone = true
    }
  }
  await renew()
  let renewing: Promise<void> | undefined
  const timer = setInterval(() => {
    renewing ??= renew().finally(() => {
      renewing = undefined
    })
  }, c.sync_interval_ms)
  timer.unref()
  let closed: Promise<void> | undefined
  return {
    leads: () => leading || alone,
    close: () =>
      (closed ??= (async () => {
        clearInterval(timer)
        await renewing
        if (shared === undefined) await load.close()
      })()),
  }
}

/**
 * @module adapters/redis/redis-tenant-totals
 * Tenant budget totals shared by the gateway replicas of a `cluster:` through Redis, so a tenant's
 * cap holds for the fleet rather than per replica. One hash per (service, tenant, period start):
 * `energy_j` and `carbon_g`. Each replica adds what it accounted since its last sync and reads the
 * fleet's total back in one atomic script; the first replica to touch a period's key seeds it with
 * what it knew (the ledger's totals at its start plus what it saw since), so a Redis that lost the
 * key does not hand the tenant a fresh budget. Keys expire a day after their period ends.
 */
import type { SharedTenantTotals, TenantSyncEntry } from '../../tenant-usage/tenant-usage.ts'
import { createFailFastRedis } from './fail-fast-redis.ts'

/** KEYS[1] the period's hash; ARGV: seed energy, seed carbon, delta energy, delta carbon, ttl ms. */
const ADD = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'energy_j', ARGV[1], 'carbon_g', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
local e = redis.call('HINCRBYFLOAT', KEYS[1], 'energy_j', ARGV[3])
local c = redis.call('HINCRBYFLOAT', KEYS[1], 'carbon_g', ARGV[4])
return {e, c}
`

/** How long a period's key outlives the period, ms. */
const KEEP_AFTER_PERIOD_MS = 86_400_000

interface Scripts {
  wlTenantAdd(key: string, ...args: (string | number)[]): Promise<[string, string]>
}

export interface RedisTenantTotalsOptions {
  readonly url: string
  /** Key prefix (the cluster's `key_prefix`): keys are `<prefix>:tenant:<service>:<tenant>:<from_ms>`. */
  readonly keyPrefix: string
  readonly commandTimeoutMs: number
  readonly onError?: (err: unknown) => void
}

/** Connects (lazily; an unreachable Redis makes `add` reject until it answers again). */
export function openRedisTenantTotals(
  options: RedisTenantTotalsOptions,
): SharedTenantTotals & { close(): Promise<void> } {
  const redis = createFailFastRedis(options)
  redis.defineCommand('wlTenantAdd', { numberOfKeys: 1, lua: ADD })
  const scripts = redis as unknown as Scripts
  let connecting: Promise<void> | undefined
  const ready = (): Promise<void> => {
    if (redis.status === 'ready') return Promise.resolve()
    if (redis.status === 'wait')
      connecting ??= redis.connect().finally(() => (connecting = undefined))
    return connecting ?? Promise.resolve()
  }
  return {
    async add(entries: readonly TenantSyncEntry[]) {
      await ready()
      return Promise.all(
        entries.map(async (e) => {
          const key = `${options.keyPrefix}:tenant:${e.service}:${e.tenant}:${e.fromMs}`
          const ttlMs = Math.max(1, e.toMs - e.nowMs) + KEEP_AFTER_PERIOD_MS
          const [energy, carbon] = await scripts.wlTenantAdd(
            key,
            e.seedEnergyJ,
            e.seedCarbonG,
            e.deltaEnergyJ,
            e.deltaCarbonG,
            Math.round(ttlMs),
          )
          return { energyJ: Number(energy), carbonG: Number(carbon) }
        }),
      )
    },
    async close() {
      redis.disconnect()
      await Promise.resolve()
    },
  }
}

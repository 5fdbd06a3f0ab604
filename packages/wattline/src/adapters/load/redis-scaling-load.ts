/**
 * @module adapters/load/redis-scaling-load
 * The live scaler's load shared by every gateway replica through the cluster Redis (the `cluster:`
 * section), so that `GET /scaling/{pool}` answers the same on every replica behind a load
 * balancer (docs/scaling.md "Several gateway replicas"):
 *
 * - each replica publishes its counts of every closed window of a pool: hash
 *   `<prefix>:scaling:<pool>:w:<window start ms>`, field = replica id, value = JSON counts; the key
 *   expires (`ttlMs`), so a window's hash holds the replicas alive during that window;
 * - one replica leads (`<prefix>:scaling:leader`, a lease renewed every tick, `SET … PX`): it
 *   writes each pool's recommendation to `<prefix>:scaling:<pool>:decision` (expiring), which
 *   every replica serves.
 *
 * Fails fast like the load counters (no offline queue, no retries, a command timeout): a failing
 * call rejects and the scaler falls back to this replica's own load.
 */
import { randomUUID } from 'node:crypto'
import { connectWithin, createFailFastRedis } from '../redis/fail-fast-redis.ts'
import type { SharedScalingLoad, WindowCounts } from '../../scaling/shared-scaling-load.ts'

export interface RedisScalingLoadOptions {
  readonly url: string
  readonly keyPrefix: string
  readonly commandTimeoutMs: number
  readonly replicaId?: string
  readonly onError?: (err: unknown) => void
}

/** KEYS[1] leader key; ARGV replica id, lease ms → 1 when this replica leads. */
const LEAD = `local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0`

export async function openRedisScalingLoad(
  options: RedisScalingLoadOptions,
): Promise<SharedScalingLoad> {
  const redis = createFailFastRedis(options)
  redis.defineCommand('wlScalingLead', { numberOfKeys: 1, lua: LEAD })
  await connectWithin(redis, options.commandTimeoutMs, options.onError)
  const replicaId = options.replicaId ?? randomUUID()
  const p = `${options.keyPrefix}:scaling`
  const windowKey = (pool: string, startMs: number): string => `${p}:${pool}:w:${startMs}`
  return {
    replicaId,
    async publish(pool, windowStartMs, counts, ttlMs) {
      const key = windowKey(pool, windowStartMs)
      await redis.multi().hset(key, replicaId, JSON.stringify(counts)).pexpire(key, ttlMs).exec()
    },
    async read(pool, windowStartMs) {
      const all = await redis.hgetall(windowKey(pool, windowStartMs))
      return Object.values(all).map((v) => JSON.parse(v) as WindowCounts)
    },
    async lead(ttlMs) {
      const r = await (
        redis as unknown as { wlScalingLead(k: string, id: string, ms: number): Promise<number> }
      ).wlScalingLead(`${p}:leader`, replicaId, ttlMs)
      return r === 1
    },
    async putDecision(pool, json, ttlMs) {
      await redis.set(`${p}:${pool}:decision`, json, 'PX', ttlMs)
    },
    getDecision: (pool) => redis.get(`${p}:${pool}:decision`),
    async close() {
      // Give the lead up so another replica takes it at its next tick, not a lease later.
      await redis
        .eval(
          `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
          1,
          `${p}:leader`,
          replicaId,
        )
        .catch(() => undefined)
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

/**
 * @module adapters/load/redis-load-counters
 * `LoadCounters` shared by every gateway replica through one Redis. Each backend is a sorted set
 * `<prefix>:load:<backend>` of lease ids scored by their expiry (epoch ms, Redis's own `TIME`, so
 * replicas' clock skew does not matter). One Lua script per operation keeps each atomic:
 *
 * - acquire: drop expired leases, `ZCARD` < limit → `ZADD` a lease expiring `lease_ms` from now;
 * - release: `ZREM` the lease, answer the live count;
 * - inflight: drop expired leases and `ZCARD` each backend, in one call;
 * - renew (every `heartbeat_ms`): push the expiry of every lease this replica holds.
 *
 * A replica that crashes stops renewing, so its slots expire after at most `lease_ms`. The client
 * fails fast when Redis is unreachable (no offline queue, no per-request retries, a command
 * timeout): every failure rejects with `WL_CLUSTER_UNAVAILABLE` and the caller counts locally.
 */
import { randomUUID } from 'node:crypto'
import {
  WattlineError,
  type AcquireOutcome,
  type LoadCounters,
  type LoadLease,
} from '@wattline/core'
import { connectWithin, createFailFastRedis } from '../redis/fail-fast-redis.ts'

export interface RedisLoadCountersOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  readonly url: string
  /** Prefix of every key, e.g. `wattline` → `wattline:load:<backend>`. */
  readonly keyPrefix: string
  /** How long a lease lives without renewal (ms): a crashed replica's slots free after this. */
  readonly leaseMs: number
  /** How often this replica renews its leases (ms); well under `leaseMs`. */
  readonly heartbeatMs: number
  /** Longest a Redis command may take before it counts as failed (ms). */
  readonly commandTimeoutMs: number
  /** This replica's id in lease ids; default a random UUID. */
  readonly replicaId?: string
  /** Connection and renewal errors (the client reconnects by itself). */
  readonly onError?: (err: unknown) => void
}

/** The Redis adapter: the port plus this replica's id and how many leases it holds. */
export interface RedisLoadCounters extends LoadCounters {
  readonly replicaId: string
  /** Leases this replica holds and renews (count). */
  held(): number
}

// Milliseconds since the epoch from the Redis server's clock.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`
// The key lives as long as its longest lease (every write sets it, so abandoned keys vanish).
const EXPIRE = `local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end`

/** KEYS[1] backend set; ARGV limit, lease ms, lease id → {1 acquired | 0 full, live count}. */
const ACQUIRE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then return {0, n} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
${EXPIRE}
return {1, n + 1}`

/** KEYS[1] backend set; ARGV lease id → live count after. */
const RELEASE = `${NOW}
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])`

/** KEYS backend sets → live count of each. */
const INFLIGHT = `${NOW}
local out = {}
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  out[i] = redis.call('ZCARD', k)
end
return out`

/** KEYS[1] backend set; ARGV lease ms, lease ids… → live count. */
const RENEW = `${NOW}
local at = now + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], at, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
${EXPIRE}
return redis.call('ZCARD', KEYS[1])`

interface Scripts {
  wlAcquire(key: string, limit: number, leaseMs: number, id: string): Promise<[number, number]>
  wlRelease(key: string, id: string): Promise<number>
  wlInflight(numKeys: number, ...keys: string[]): Promise<number[]>
  wlRenew(key: string, leaseMs: number, ...ids: string[]): Promise<number>
}

/**
 * Connects to Redis (waiting at most `commandTimeoutMs` for the first connection; an unreachable
 * Redis is not fatal: calls reject until the client reconnects) and starts renewing leases.
 */
export async function openRedisLoadCounters(
  options: RedisLoadCountersOptions,
): Promise<RedisLoadCounters> {
  // Auto-pipelining: commands issued in one event-loop tick leave in one write — under load, one
  // syscall for many acquires and releases instead of one each (measured: docs/benchmarks.md,
  // bench:cluster). Order on the connection is kept; the renewal pipeline may overtake queued
  // commands, which is harmless (it only renews leases whose acquire was answered and that are
  // not released).
  const redis = createFailFastRedis({ ...options, autoPipelining: true })
  redis.defineCommand('wlAcquire', { numberOfKeys: 1, lua: ACQUIRE })
  redis.defineCommand('wlRelease', { numberOfKeys: 1, lua: RELEASE })
  redis.defineCommand('wlInflight', { lua: INFLIGHT })
  redis.defineCommand('wlRenew', { numberOfKeys: 1, lua: RENEW })
  const scripts = redis as unknown as Scripts
  await connectWithin(redis, options.commandTimeoutMs, options.onError)

  const replicaId = options.replicaId ?? randomUUID()
  const keyOf = (backend: string): string => `${options.keyPrefix}:load:${backend}`
  // Backend id → lease ids held by this replica (renewed by the heartbeat).
  const held = new Map<string, Set<string>>()
  let sequence = 0
  let closed = false

  async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (closed) throw unavailable(`${what}: load counters are closed`)
    try {
      return await run()
    } catch (error) {
      throw unavailable(`${what}: ${(error as Error).message}`, error)
    }
  }

  async function renew(): Promise<void> {
    const batch = redis.pipeline()
    for (const [backend, ids] of held) {
      if (ids.size === 0) continue
      // Queued on the pipeline; its result comes back from `exec()` below.
      void (batch as unknown as Scripts).wlRenew(keyOf(backend), options.leaseMs, ...ids)
    }
    if (batch.length === 0) return
    const results = (await batch.exec()) ?? []
    for (const [err] of results) if (err !== null) throw err
  }
  const heartbeat = setInterval(() => {
    if (redis.status !== 'ready') return
    renew().catch((err: unknown) => options.onError?.(unavailable('renew', err)))
  }, options.heartbeatMs)
  heartbeat.unref()

  return {
    replicaId,
    held: () => {
      let n = 0
      for (const ids of held.values()) n += ids.size
      return n
    },
    acquire: (backend, limit) =>
      call('acquire', async (): Promise<AcquireOutcome> => {
        const lease: LoadLease = { backend, id: `${replicaId}:${++sequence}` }
        const [ok, inflight] = await scripts.wlAcquire(
          keyOf(backend),
          limit,
          options.leaseMs,
          lease.id,
        )
        if (ok !== 1) return { kind: 'full', inflight }
        let ids = held.get(backend)
        if (ids === undefined) held.set(backend, (ids = new Set()))
        ids.add(lease.id)
        return { kind: 'acquired', lease, inflight }
      }),
    release: (lease) =>
      call('release', () => {
        // Forget it first: a renewal sent from now on must not bring it back.
        held.get(lease.backend)?.delete(lease.id)
        return scripts.wlRelease(keyOf(lease.backend), lease.id)
      }),
    inflight: (backends) =>
      call('inflight', async () => {
        if (backends.length === 0) return new Map<string, number>()
        const counts = await scripts.wlInflight(backends.length, ...backends.map(keyOf))
        return new Map(backends.map((b, i) => [b, counts[i] ?? 0]))
      }),
    async close() {
      if (closed) return
      closed = true
      clearInterval(heartbeat)
      held.clear()
      // Leases still held are not released: they expire like a crashed replica's.
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

function unavailable(message: string, cause?: unknown): WattlineError {
  return new WattlineError('WL_CLUSTER_UNAVAILABLE', `redis load counters: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
  })
}

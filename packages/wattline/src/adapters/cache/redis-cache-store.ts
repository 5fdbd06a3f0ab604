/**
 * @module adapters/cache/redis-cache-store
 * The response cache store shared by gateway replicas: entries as JSON under
 * `SET <prefix>:cache:<service>:<key> PX ttl`, `GET`. Fails fast (no offline queue, no resend, a timeout per command) so a down Redis costs the
 * request path one short timeout at most; the client reconnects in the background.
 */
import { connectWithin, createFailFastRedis } from '../redis/fail-fast-redis.ts'
import { readEntry, type CacheStore } from './cache-store.ts'

export interface RedisCacheStoreOptions {
  readonly url: string
  readonly keyPrefix: string
  /** Longest a command may take (ms). */
  readonly commandTimeoutMs: number
  /** Connection errors (reported on each reconnect attempt). */
  readonly onError?: (err: unknown) => void
}

/** Connects (waiting at most `commandTimeoutMs`; an unreachable Redis is not fatal). */
export async function openRedisCacheStore(options: RedisCacheStoreOptions): Promise<CacheStore> {
  const redis = createFailFastRedis(options)
  await connectWithin(redis, options.commandTimeoutMs, options.onError)
  const keyOf = (service: string, key: string): string =>
    `${options.keyPrefix}:cache:${service}:${key}`
  return {
    kind: 'redis',
    get: async (service, key) => {
      const text = await redis.get(keyOf(service, key))
      return text === null ? undefined : readEntry(text)
    },
    set: async (service, key, entry, ttlMs) => {
      const ttl = Math.max(1, Math.round(ttlMs))
      await redis.set(keyOf(service, key), JSON.stringify(entry), 'PX', ttl)
    },
    close: async () => {
      redis.disconnect()
      return Promise.resolve()
    },
  }
}

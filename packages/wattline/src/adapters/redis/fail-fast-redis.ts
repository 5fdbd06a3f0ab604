/**
 * @module adapters/redis/fail-fast-redis
 * The one way Wattline connects to Redis (load counters, response cache, scaling load, tenant
 * totals): fail fast on the request path — no queue while disconnected, no resend of a command
 * whose connection dropped, a timeout per command — while the client reconnects in the background
 * (backoff 100 ms doubling to 2 s). Redis is never on the critical path: every user degrades to its
 * local answer while it is away.
 */
import { Redis } from 'ioredis'

export interface FailFastRedisOptions {
  readonly url: string
  /** Longest a command may take (ms); also the floor of the connect timeout (at least 1 s). */
  readonly commandTimeoutMs: number
  /** Connection errors (reported on each reconnect attempt). */
  readonly onError?: (err: unknown) => void
  /** Commands of one event-loop tick leave in one write (the load counters' hot path). */
  readonly autoPipelining?: boolean
}

/** A client that has not connected yet (`connectWithin` or the first command connects it). */
export function createFailFastRedis(options: FailFastRedisOptions): Redis {
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    lazyConnect: true,
    ...(options.autoPipelining === true ? { enableAutoPipelining: true } : {}),
  })
  redis.on('error', (err: unknown) => options.onError?.(err))
  return redis
}

/**
 * Starts connecting and waits at most `ms` for it: an unreachable Redis is not fatal (the client
 * keeps trying; its users bypass it meanwhile).
 */
export async function connectWithin(
  redis: Redis,
  ms: number,
  onError?: (err: unknown) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    redis.connect().catch((err: unknown) => onError?.(err)),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms)
    }),
  ])
  clearTimeout(timer)
}

/**
 * @module compose/response-cache
 * Opens the response cache of the config: undefined when no service enables `cache:`; the store is
 * the top-level `cache.store` (in-process, or Redis shared by the replicas).
 */
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import { createMemoryCacheStore } from '../adapters/cache/memory-cache-store.ts'
import { openRedisCacheStore } from '../adapters/cache/redis-cache-store.ts'
import type { WattlineConfig } from '../config/parse-config.ts'
import { createResponseCache, type ResponseCache } from '../http/response-cache.ts'

export async function startResponseCache(
  config: WattlineConfig,
  deps: { readonly registry: Registry; readonly logger: Logger },
): Promise<ResponseCache | undefined> {
  if (!config.services.some((s) => s.cache.enabled)) return undefined
  const logger = deps.logger.child({ component: 'cache' })
  const url = config.secrets.cacheRedisUrl
  let lastError = ''
  const store =
    config.cache.store === 'redis' && url !== undefined
      ? await openRedisCacheStore({
          url,
          keyPrefix: config.cache.key_prefix,
          commandTimeoutMs: config.cache.command_timeout_ms,
          onError: (err) => {
            const message = (err as Error).message
            if (message !== lastError) logger.debug({ err }, 'redis connection error')
            lastError = message
          },
        })
      : createMemoryCacheStore(
          (service) => config.services.find((s) => s.name === service)?.cache.max_bytes ?? 1,
        )
  return createResponseCache({ store, registry: deps.registry, logger })
}

/**
 * How the response cache keys what it asks its store: the in-process store by the key's material
 * (exact text, no digest), Redis by its sha256; either way the same request gets the same key and a
 * request of another tenant, model or body another.
 */
import { hash } from 'node:crypto'
import pino from 'pino'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { CacheStore } from '../adapters/cache/cache-store.ts'
import { serviceSchema, type ServiceConfig } from '../config/schema.ts'
import {
  cacheKey,
  cacheKeyMaterial,
  createResponseCache,
  type CacheRequest,
} from './response-cache.ts'

const service: ServiceConfig = serviceSchema.parse({
  name: 'chat',
  cache: { enabled: true, ttl_s: 60 },
})

/** A store that records the keys it is asked for and holds nothing. */
function recordingStore(kind: CacheStore['kind']): CacheStore & { readonly keys: string[] } {
  const keys: string[] = []
  return {
    kind,
    keys,
    get: (_service, key) => {
      keys.push(key)
      return undefined
    },
    set: () => undefined,
    close: () => Promise.resolve(),
  }
}

const request = (over: Partial<CacheRequest> = {}): CacheRequest => ({
  service,
  tenant: 'acme',
  authorization: undefined,
  cacheControl: undefined,
  endpoint: '/v1/chat/completions',
  model: 'm',
  body: { model: 'm', temperature: 0, messages: [{ role: 'user', content: 'hi' }] },
  ...over,
})

function keysOf(kind: CacheStore['kind'], requests: readonly CacheRequest[]): string[] {
  const store = recordingStore(kind)
  const cache = createResponseCache({
    store,
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
  })
  for (const r of requests) {
    const d = cache.decide(r)
    expect(d).toMatchObject({ outcome: 'miss' })
  }
  return store.keys
}

describe('response cache keys', () => {
  const requests = [
    request(),
    // the same request, keys in another order
    request({ body: { messages: [{ content: 'hi', role: 'user' }], temperature: 0, model: 'm' } }),
    request({ tenant: 'other' }),
    request({ model: 'n', body: { model: 'n', temperature: 0, messages: [] } }),
  ]

  it('asks the in-process store by the key material itself', () => {
    const keys = keysOf('memory', requests)
    expect(keys).toEqual(requests.map(cacheKeyMaterial))
    expect(keys[0]).toBe(keys[1])
    expect(new Set(keys).size).toBe(3)
  })

  it('asks Redis by the sha256 of the same material', () => {
    const keys = keysOf('redis', requests)
    expect(keys).toEqual(requests.map(cacheKey))
    expect(keys).toEqual(requests.map((r) => hash('sha256', cacheKeyMaterial(r), 'hex')))
    expect(keys.every((k) => /^[0-9a-f]{64}$/.test(k))).toBe(true)
  })
})

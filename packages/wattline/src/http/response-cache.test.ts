/**
 * How the response cache keys what it asks its store: by the sha256 of the key's material; the
 * same request gets the same key and a request of another tenant, model or body another. `key: normalised` (default) ignores how the body is spelt; `key: exact` keys its bytes.
 */
import { hash } from 'node:crypto'
import pino from 'pino'
import { Registry } from 'prom-client'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CacheStore } from '../adapters/cache/cache-store.ts'
import { serviceSchema, type ServiceConfig } from '../config/schema.ts'
import {
  cacheKey,
  cacheKeyMaterial,
  canonicalJson,
  createResponseCache,
  type CacheRequest,
} from './response-cache.ts'

const service: ServiceConfig = serviceSchema.parse({
  name: 'chat',
  cache: { enabled: true, ttl_s: 60 },
})
const exactService: ServiceConfig = serviceSchema.parse({
  name: 'chat',
  cache: { enabled: true, ttl_s: 60, key: 'exact' },
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
  raw: undefined,
  ...over,
})
/** `request(over)` as a client sent it: `spelling` (or the compact JSON of its body), parsed. */
const sent = (over: Partial<CacheRequest> = {}, spelling?: string): CacheRequest => {
  const r = request(over)
  const text = spelling ?? JSON.stringify(r.body)
  return { ...r, body: JSON.parse(text) as Record<string, unknown>, raw: Buffer.from(text) }
}

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

  it.each(['memory', 'redis'] as const)(
    'asks the %s store by the sha256 of the key material',
    (kind) => {
      const keys = keysOf(kind, requests)
      expect(keys).toEqual(requests.map(cacheKey))
      expect(keys).toEqual(requests.map((r) => hash('sha256', cacheKeyMaterial(r), 'hex')))
      expect(keys.every((k) => /^[0-9a-f]{64}$/.test(k))).toBe(true)
      expect(keys[0]).toBe(keys[1])
      expect(new Set(keys).size).toBe(3)
    },
  )

  it('normalised (default): the same request spelt otherwise is the same entry', () => {
    const compact = sent()
    const spaced = sent(
      {},
      '{ "temperature": 0, "model": "m", "messages": [{"content": "\\u0068i", "role": "user"}] }',
    )
    expect(cacheKeyMaterial(spaced)).toBe(cacheKeyMaterial(compact))
  })

  it('exact: keys the bytes as sent, with identity, service, model and endpoint', () => {
    const exact = (over: Partial<CacheRequest> = {}, spelling?: string): CacheRequest =>
      sent({ service: exactService, ...over }, spelling)
    const a = exact()
    expect(cacheKeyMaterial(a)).toBe(cacheKeyMaterial(exact()))
    expect(cacheKeyMaterial(a)).toContain(hash('sha256', a.raw as Buffer, 'hex'))
    expect(cacheKeyMaterial(a)).not.toContain('"hi"')
    // Spelt otherwise: another entry (never a wrong answer).
    const reordered = exact(
      {},
      JSON.stringify({ messages: a.body['messages'], model: 'm', temperature: 0 }),
    )
    expect(cacheKeyMaterial(reordered)).not.toBe(cacheKeyMaterial(a))
    for (const other of [exact({ tenant: 'other' }), exact({ endpoint: '/v1/completions' })])
      expect(cacheKeyMaterial(other)).not.toBe(cacheKeyMaterial(a))
    // Without the bytes (a route that did not keep them) it falls back to the canonical JSON.
    expect(cacheKeyMaterial({ ...a, raw: undefined })).toBe(
      cacheKeyMaterial({ ...request(), raw: undefined }),
    )
  })
})

describe('canonical JSON', () => {
  /** The plain definition: members in `sort()` order at every depth, leaves by JSON.stringify. */
  const reference = (v: unknown): string => {
    if (v === null || typeof v !== 'object') return JSON.stringify(v)
    if (Array.isArray(v)) return `[${v.map(reference).join(',')}]`
    const o = v as Record<string, unknown>
    const members = Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
    return `{${members.join(',')}}`
  }

  it('writes every member in sorted key order at every depth (integer-like keys included)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const parsed: unknown = JSON.parse(JSON.stringify(v))
        expect(canonicalJson(parsed)).toBe(reference(parsed))
      }),
      { numRuns: 500 },
    )
  })

  it('sorts objects with many keys too (past the insertion-sort size)', () => {
    const keys = Array.from({ length: 300 }, (_, i) => `k${String((i * 7919) % 300)}`)
    const o = Object.fromEntries(keys.map((k, i) => [k, i]))
    expect(canonicalJson(o)).toBe(reference(o))
  })
})

import { Writable } from 'node:stream'
import { decodeLeverSavings, type RequestRecord } from '@wattline/core'
import OpenAI from 'openai'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfigText } from '../config/load-config.ts'
import { startResponseCache } from '../compose/response-cache.ts'
import {
  startGateway,
  startStub,
  TEST_CATALOG,
  type Harness,
  type StubBackend,
} from './harness.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const silent = pino({ level: 'silent' })

/** A gateway over one simulated backend with the response cache of `cache` on service `chat`. */
async function cachedGateway(
  stub: StubBackend,
  cache: Record<string, unknown>,
  extra: {
    store?: Record<string, unknown>
    env?: Record<string, string>
    logger?: pino.Logger
  } = {},
): Promise<Harness> {
  return startGateway(
    {
      services: [
        {
          name: 'chat',
          default: true,
          cache,
          api_keys: [
            { tenant: 'acme', key_env: 'KEY_ACME' },
            { tenant: 'globex', key_env: 'KEY_GLOBEX' },
          ],
        },
        { name: 'plain', api_keys: [{ tenant: 'plain', key_env: 'KEY_PLAIN' }] },
      ],
      backends: [
        { id: 'paris', url: stub.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL, 'embed'] },
      ],
      ...(extra.store === undefined ? {} : { cache: extra.store }),
    },
    { FR: 50 },
    { KEY_ACME: 'sk-acme', KEY_GLOBEX: 'sk-globex', KEY_PLAIN: 'sk-plain', ...extra.env },
    undefined,
    {
      cache: (config, registry) =>
        startResponseCache(config, { registry, logger: extra.logger ?? silent }),
    },
  )
}

const client = (gw: Harness, key = 'sk-acme'): OpenAI =>
  new OpenAI({ baseURL: gw.baseUrl, apiKey: key, maxRetries: 0, timeout: 10_000 })

let n = 0
/** A prompt no other test uses (each test starts from an empty cache entry). */
const fresh = (): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [
  { role: 'user', content: `question ${++n}` },
]

async function savedJ(gw: Harness, service: string): Promise<number> {
  const m = await gw.metrics.registry.getSingleMetric('wattline_energy_saved_joules_total')?.get()
  return (
    m?.values.find((v) => v.labels['lever'] === 'cache' && v.labels['service'] === service)
      ?.value ?? 0
  )
}

describe('response cache in the gateway (simulated backend, official openai client)', () => {
  let stub: StubBackend
  let gw: Harness
  beforeAll(async () => {
    stub = await startStub()
    gw = await cachedGateway(stub, { enabled: true, ttl_s: 60 })
  })
  afterAll(async () => {
    await gw.close()
    await stub.close()
  })

  it('answers a repeated JSON request from the cache byte for byte, without the upstream', async () => {
    const c = client(gw)
    const messages = fresh()
    const first = await c.chat.completions
      .create({ model: MODEL, messages, temperature: 0 })
      .asResponse()
    const firstText = await first.text()
    expect(first.headers.get('x-wattline-cache')).toBe('miss')
    const spentJ = Number(first.headers.get('x-wattline-energy-j'))
    expect(spentJ).toBeGreaterThan(0)
    const calls = stub.received.length
    const before = await savedJ(gw, 'chat')
    const second = await c.chat.completions
      .create({ model: MODEL, messages, temperature: 0 })
      .asResponse()
    expect(second.headers.get('x-wattline-cache')).toBe('hit')
    expect(await second.text()).toBe(firstText)
    expect(stub.received.length).toBe(calls)
    expect(second.headers.get('x-wattline-energy-j')).toBe('0')
    expect(second.headers.get('x-wattline-carbon-g')).toBe('0')
    expect(Number(second.headers.get('x-wattline-energy-saved-j'))).toBeCloseTo(spentJ, 3)
    expect(Number(second.headers.get('x-wattline-energy-saved-low-j'))).toBeLessThanOrEqual(
      Number(second.headers.get('x-wattline-energy-saved-high-j')),
    )
    expect(Number(second.headers.get('x-wattline-carbon-saved-g'))).toBeCloseTo(
      Number(first.headers.get('x-wattline-carbon-g')),
      6,
    )
    expect(second.headers.get('x-wattline-saved-basis')).toBe('estimated-counterfactual')
    expect((await savedJ(gw, 'chat')) - before).toBeCloseTo(spentJ, 3)
    // Both are ledger rows: the miss with its energy and network bytes, the hit with 0 J and the
    // cache saving (basis stated), chained like any row.
    const rows = gw.ledger.records.filter(
      (r): r is RequestRecord =>
        r.kind === 'request' &&
        (r.id === first.headers.get('x-request-id') || r.id === second.headers.get('x-request-id')),
    )
    expect(rows.map((r) => [r.backend, r.energy_j > 0])).toEqual([
      ['paris', true],
      ['cache', false],
    ])
    expect(rows[0]?.levers).toBeUndefined()
    expect(rows[0]?.network_bytes).toBe(
      Buffer.byteLength(firstText) +
        Buffer.byteLength(JSON.stringify({ model: MODEL, messages, temperature: 0 })),
    )
    expect(rows[0]?.network_energy_j).toBeGreaterThan(0)
    expect(rows[1]?.network_bytes).toBe(rows[0]?.network_bytes)
    expect(decodeLeverSavings(rows[1]?.levers ?? '')).toEqual([
      expect.objectContaining({ lever: 'cache', basis: 'estimated-counterfactual' }),
    ])
    expect(decodeLeverSavings(rows[1]?.levers ?? '')[0]?.energy_saved_j).toBeCloseTo(spentJ, 3)
    // The parsed answer through the client's own path is the same too.
    const third = await c.chat.completions.create({ model: MODEL, messages, temperature: 0 })
    expect(JSON.stringify(third)).toBe(JSON.stringify(JSON.parse(firstText)))
  })

  it('replays a stream chunk for chunk, ending with [DONE]; stream and JSON answers are apart', async () => {
    const c = client(gw)
    const messages = fresh()
    // The JSON answer of the same messages is stored first: the stream must not get it.
    await c.chat.completions.create({ model: MODEL, messages, seed: 7 })
    const calls = stub.received.length
    const ask = () =>
      c.chat.completions
        .create({
          model: MODEL,
          messages,
          seed: 7,
          stream: true,
          stream_options: { include_usage: true },
        })
        .asResponse()
    const first = await ask()
    expect(first.headers.get('x-wattline-cache')).toBe('miss')
    const firstText = await first.text()
    expect(stub.received.length).toBe(calls + 1)
    const second = await ask()
    expect(second.headers.get('x-wattline-cache')).toBe('hit')
    expect(second.headers.get('content-type')).toContain('text/event-stream')
    const secondText = await second.text()
    expect(secondText).toBe(firstText)
    expect(secondText.trimEnd().endsWith('data: [DONE]')).toBe(true)
    expect(stub.received.length).toBe(calls + 1)
    // Event by event through the client's SSE parser.
    const events: unknown[] = []
    for await (const e of await c.chat.completions.create({
      model: MODEL,
      messages,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
    }))
      events.push(e)
    const original = firstText
      .split('\n\n')
      .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
      .map((e) => JSON.parse(e.slice(6)) as unknown)
    expect(events).toEqual(original)
    expect(events.length).toBe(5)
    expect(stub.received.length).toBe(calls + 1)
  })

  it('never serves one tenant the answer stored for another', async () => {
    const messages = fresh()
    const calls = stub.received.length
    const a = await client(gw, 'sk-acme')
      .chat.completions.create({ model: MODEL, messages, temperature: 0 })
      .asResponse()
    const b = await client(gw, 'sk-globex')
      .chat.completions.create({ model: MODEL, messages, temperature: 0 })
      .asResponse()
    expect([a.headers.get('x-wattline-cache'), b.headers.get('x-wattline-cache')]).toEqual([
      'miss',
      'miss',
    ])
    expect(stub.received.length).toBe(calls + 2)
    const again = await client(gw, 'sk-globex')
      .chat.completions.create({ model: MODEL, messages, temperature: 0 })
      .asResponse()
    expect(again.headers.get('x-wattline-cache')).toBe('hit')
  })

  it('honours Cache-Control no-store (neither look up nor store) and no-cache (store only)', async () => {
    const c = client(gw)
    const messages = fresh()
    const calls = stub.received.length
    const ask = (cc?: string) =>
      c.chat.completions
        .create(
          { model: MODEL, messages, temperature: 0 },
          cc === undefined ? {} : { headers: { 'cache-control': cc } },
        )
        .asResponse()
    expect((await ask('no-store')).headers.get('x-wattline-cache')).toBe('bypass')
    expect((await ask()).headers.get('x-wattline-cache')).toBe('miss') // nothing was stored
    expect((await ask('no-store')).headers.get('x-wattline-cache')).toBe('bypass') // no lookup
    expect((await ask('no-cache')).headers.get('x-wattline-cache')).toBe('miss') // no lookup
    expect(stub.received.length).toBe(calls + 4)
    expect((await ask()).headers.get('x-wattline-cache')).toBe('hit')
    expect(stub.received.length).toBe(calls + 4)
  })

  it('lets non-deterministic requests bypass in deterministic mode; caches embeddings', async () => {
    const c = client(gw)
    const messages = fresh()
    const calls = stub.received.length
    for (let i = 0; i < 2; i++) {
      const r = await c.chat.completions
        .create({ model: MODEL, messages, temperature: 0.7 })
        .asResponse()
      expect(r.headers.get('x-wattline-cache')).toBe('bypass')
    }
    expect(stub.received.length).toBe(calls + 2)
    const e1 = await c.embeddings.create({ model: 'embed', input: `text ${++n}` }).asResponse()
    const e2 = await c.embeddings.create({ model: 'embed', input: `text ${n}` }).asResponse()
    expect([e1.headers.get('x-wattline-cache'), e2.headers.get('x-wattline-cache')]).toEqual([
      'miss',
      'hit',
    ])
    expect(await e2.text()).toBe(await e1.text())
  })

  it('says bypass on refusals before the cache decides', async () => {
    const r = await fetch(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-acme', 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: 'not a list', temperature: 0 }),
    })
    expect(r.status).toBeGreaterThanOrEqual(400)
    expect(r.headers.get('x-wattline-cache')).toBe('bypass')
    expect(((await r.json()) as { error: { code: string } }).error.code).toMatch(/^WL_/)
  })

  it('says bypass on services without a cache policy', async () => {
    const r = await client(gw, 'sk-plain')
      .chat.completions.create({ model: MODEL, messages: fresh(), temperature: 0 })
      .asResponse()
    expect(r.headers.get('x-wattline-cache')).toBe('bypass')
    expect(r.headers.get('x-wattline-energy-j')).not.toBe('0')
  })
})

describe('response cache policy', () => {
  it('caches every request of a service in mode always, until ttl_s passes', async () => {
    const stub = await startStub()
    const gw = await cachedGateway(stub, { enabled: true, mode: 'always', ttl_s: 1 })
    try {
      const c = client(gw)
      const messages = fresh()
      const ask = async () =>
        (
          await c.chat.completions.create({ model: MODEL, messages, temperature: 0.9 }).asResponse()
        ).headers.get('x-wattline-cache')
      expect(await ask()).toBe('miss')
      expect(await ask()).toBe('hit')
      await new Promise((r) => setTimeout(r, 1_100))
      expect(await ask()).toBe('miss')
      expect(stub.received.length).toBe(2)
    } finally {
      await gw.close()
      await stub.close()
    }
  })

  it('min_uses: 2 stores an answer only when its request comes the second time', async () => {
    const stub = await startStub()
    const gw = await cachedGateway(stub, { enabled: true, ttl_s: 60, min_uses: 2 })
    try {
      const c = client(gw)
      const messages = fresh()
      const ask = async (): Promise<string | null> =>
        (
          await c.chat.completions.create({ model: MODEL, messages, temperature: 0 }).asResponse()
        ).headers.get('x-wattline-cache')
      expect([await ask(), await ask(), await ask(), await ask()]).toEqual([
        'miss', // asked once: not stored
        'miss', // asked twice: stored
        'hit',
        'hit',
      ])
      expect(stub.received.length).toBe(2)
      const below = await gw.metrics.registry
        .getSingleMetric('wattline_cache_below_min_uses_total')
        ?.get()
      expect(below?.values.find((v) => v.labels['service'] === 'chat')?.value).toBe(1)
    } finally {
      await gw.close()
      await stub.close()
    }
  })

  it('key: normalised hits the same request spelt otherwise; key: exact only the same bytes', async () => {
    const stub = await startStub()
    const normalised = await cachedGateway(stub, { enabled: true, ttl_s: 60 })
    const exact = await cachedGateway(stub, { enabled: true, ttl_s: 60, key: 'exact' })
    try {
      const content = `spelling ${String(++n)}`
      const compact = JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content }],
        temperature: 0,
      })
      const spaced = `{ "temperature": 0,\n  "messages": [ { "content": ${JSON.stringify(content)}, "role": "user" } ],\n  "model": "${MODEL}" }`
      const send = async (gw: Harness, body: string): Promise<string | null> => {
        const r = await fetch(`${gw.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-acme' },
          body,
        })
        await r.arrayBuffer()
        expect(r.status).toBe(200)
        return r.headers.get('x-wattline-cache')
      }
      expect([await send(normalised, compact), await send(normalised, spaced)]).toEqual([
        'miss',
        'hit',
      ])
      expect([
        await send(exact, compact),
        await send(exact, spaced),
        await send(exact, compact),
        await send(exact, spaced),
      ]).toEqual(['miss', 'miss', 'hit', 'hit'])
    } finally {
      await normalised.close()
      await exact.close()
      await stub.close()
    }
  })

  it('refuses a malformed cache policy at load with WL_CONFIG_INVALID and its line', () => {
    const text = [
      'services:',
      '  - name: chat',
      '    default: true',
      '    cache:',
      '      enabled: true',
      '      mode: sometimes',
      '      ttl_s: -5',
      '      min_uses: 0',
      'backends:',
      `  - { id: a, url: "http://127.0.0.1:1/v1", zone: FR, hardware: H100-SXM, models: [${MODEL}] }`,
      '',
    ].join('\n')
    let error: unknown
    try {
      parseConfigText(text, 'wattline.yaml', { env: {}, catalog: TEST_CATALOG })
    } catch (e) {
      error = e
    }
    expect((error as { code?: string }).code).toBe('WL_CONFIG_INVALID')
    const message = (error as Error).message
    expect(message).toMatch(/wattline\.yaml:6\b.*mode/s)
    expect(message).toMatch(/wattline\.yaml:7\b.*ttl_s/s)
    expect(message).toMatch(/wattline\.yaml:8\b.*min_uses/s)
  })

  it('refuses store: redis without a Redis URL', () => {
    const text = [
      'cache: { store: redis }',
      'services: [{ name: chat, default: true, cache: { enabled: true } }]',
      'backends:',
      `  - { id: a, url: "http://127.0.0.1:1/v1", zone: FR, hardware: H100-SXM, models: [${MODEL}] }`,
      '',
    ].join('\n')
    expect(() =>
      parseConfigText(text, 'wattline.yaml', { env: {}, catalog: TEST_CATALOG }),
    ).toThrow(/wattline\.yaml:1\b.*redis_url_env/s)
  })
})

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined)
  console.warn('REDIS_URL is not set: skipping the shared (Redis) response cache test')

describe('response cache on Redis', () => {
  it.skipIf(REDIS_URL === undefined)(
    'two gateways share one Redis: a miss on the first, a hit on the second',
    async () => {
      const stubs = await Promise.all([startStub(), startStub()])
      const store = {
        store: 'redis',
        redis_url_env: 'CACHE_REDIS',
        key_prefix: `wl-test-${process.pid}-${Date.now()}`,
      }
      const env = { CACHE_REDIS: REDIS_URL as string }
      const one = await cachedGateway(stubs[0]!, { enabled: true }, { store, env })
      const two = await cachedGateway(stubs[1]!, { enabled: true }, { store, env })
      try {
        const messages = fresh()
        for (const stream of [false, true]) {
          const a = await client(one)
            .chat.completions.create({ model: MODEL, messages, temperature: 0, stream })
            .asResponse()
          const aText = await a.text()
          const b = await client(two)
            .chat.completions.create({ model: MODEL, messages, temperature: 0, stream })
            .asResponse()
          expect([a.headers.get('x-wattline-cache'), b.headers.get('x-wattline-cache')]).toEqual([
            'miss',
            'hit',
          ])
          expect(await b.text()).toBe(aText)
        }
        expect(stubs[1]!.received.length).toBe(0)
        expect(await savedJ(two, 'chat')).toBeGreaterThan(0)
      } finally {
        await one.close()
        await two.close()
        await Promise.all(stubs.map((s) => s.close()))
      }
    },
  )
})

describe('response cache with its Redis down', () => {
  it('bypasses the cache with one warning line and still serves every request', async () => {
    const stub = await startStub()
    const lines: { level: number; msg: string }[] = []
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n'))
            if (l !== '') lines.push(JSON.parse(l) as { level: number; msg: string })
          done()
        },
      }),
    )
    // Port 1 on loopback: nothing listens there, connections are refused.
    const gw = await cachedGateway(
      stub,
      { enabled: true },
      {
        store: { store: 'redis', redis_url_env: 'CACHE_REDIS', command_timeout_ms: 200 },
        env: { CACHE_REDIS: 'redis://127.0.0.1:1' },
        logger,
      },
    )
    try {
      const c = client(gw)
      const messages = fresh()
      for (let i = 0; i < 4; i++) {
        const r = await c.chat.completions
          .create({ model: MODEL, messages, temperature: 0 })
          .asResponse()
        expect(r.status).toBe(200)
        expect(r.headers.get('x-wattline-cache')).toBe('bypass')
        expect(Number(r.headers.get('x-wattline-energy-j'))).toBeGreaterThan(0)
      }
      expect(stub.received.length).toBe(4)
      const warns = lines.filter((l) => l.level === 40)
      expect(warns.map((l) => l.msg)).toEqual([
        'response cache store unavailable: bypassing the cache until it answers again',
      ])
    } finally {
      await gw.close()
      await stub.close()
    }
  })
})

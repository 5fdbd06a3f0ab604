import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createConnection, createServer as createTcpServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { pino, type Logger } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { openRedisLoadCounters } from '../adapters/load/redis-load-counters.ts'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import {
  startCountingUpstream,
  type CountingUpstream,
} from '../reliability/worker-gateway.test-support.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

const REDIS_URL = process.env['REDIS_URL']
if (REDIS_URL === undefined)
  console.warn(
    'REDIS_URL is not set: skipping the two-replica cluster tests (shared load counters)',
  )

const MODEL = 'llama-3.1-8b-instruct'
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

/** A counting upstream (reliability/worker-gateway.test-support.ts), closed after each test. */
async function countingStub(delayMs: number): Promise<CountingUpstream> {
  const up = await startCountingUpstream(delayMs)
  closers.push(() => up.close())
  return up
}

interface Backend {
  readonly id: string
  readonly zone: string
  readonly url: string
  readonly maxConcurrency: number
}

/** Starts one replica of the fleet (its own working dir and ledger) with `cluster` lines. */
async function replica(
  backends: readonly Backend[],
  cluster: readonly string[] | undefined,
  redisUrl: string,
  logger?: Logger,
): Promise<LiveGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'wl-cluster-'))
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      'gateway:',
      '  log_level: silent',
      '  port: 0',
      'ledger:',
      '  url: sqlite:./ledger.db',
      'services:',
      '  - name: chat',
      '    default: true',
      '    routing: carbon-aware',
      'backends:',
      ...backends.flatMap((b) => [
        `  - id: ${b.id}`,
        `    url: ${b.url}`,
        `    zone: ${b.zone}`,
        '    hardware: H100-SXM',
        `    models: [${MODEL}]`,
        `    max_concurrency: ${b.maxConcurrency}`,
      ]),
      ...(cluster === undefined ? [] : ['cluster:', ...cluster.map((l) => `  ${l}`)]),
      '',
    ].join('\n'),
  )
  const live = await startLiveGateway({
    configPath: 'wattline.yaml',
    cwd: dir,
    env: { WATTLINE_REDIS_URL: redisUrl },
    ...(logger === undefined ? {} : { logger }),
  })
  closers.push(async () => {
    await live.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return live
}

async function chat(gw: LiveGateway): Promise<{ status: number; backend: string }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
  })
  await res.arrayBuffer()
  return { status: res.status, backend: res.headers.get('x-wattline-backend') ?? '' }
}

/** 16 concurrent requests, alternating between the replicas. */
function burst(replicas: readonly LiveGateway[]): Promise<{ status: number; backend: string }[]> {
  return Promise.all(Array.from({ length: 16 }, (_, i) => chat(replicas[i % replicas.length]!)))
}

async function metric(gw: LiveGateway, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${gw.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

function clusterLines(prefix: string, extra: readonly string[] = []): string[] {
  return [
    'redis_url_env: WATTLINE_REDIS_URL',
    `key_prefix: ${prefix}`,
    'sync_interval_ms: 50',
    ...extra,
  ]
}

async function dropKeys(prefix: string): Promise<void> {
  const admin = new Redis(REDIS_URL!)
  try {
    const keys = await admin.keys(`${prefix}:*`)
    if (keys.length > 0) await admin.del(...keys)
  } finally {
    admin.disconnect()
  }
}

describe.skipIf(REDIS_URL === undefined)('two gateway replicas sharing one Redis', () => {
  it('hold a backend to its max_concurrency across replicas; the rest spill over', async () => {
    const paris = await countingStub(400)
    const frankfurt = await countingStub(400)
    const backends = [
      { id: 'paris', zone: 'FR', url: paris.url, maxConcurrency: 4 },
      { id: 'frankfurt', zone: 'DE', url: frankfurt.url, maxConcurrency: 32 },
    ]
    const prefix = `wl-test-${randomUUID()}`
    closers.push(() => dropKeys(prefix))
    const replicas = [
      await replica(backends, clusterLines(prefix), REDIS_URL!),
      await replica(backends, clusterLines(prefix), REDIS_URL!),
    ]
    const results = await burst(replicas)
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(paris.peak).toBeLessThanOrEqual(4)
    expect(results.filter((r) => r.backend === 'paris').length).toBeGreaterThanOrEqual(4)
    expect(frankfurt.served + paris.served).toBe(16)
    expect(frankfurt.served).toBeGreaterThan(0) // the spill-over
    // Every slot went back: the shared count is 0 on both backends.
    expect(await metric(replicas[0]!, 'wattline_cluster_redis_up')).toBe(1)
    const counters = await openRedisLoadCounters({
      url: REDIS_URL!,
      keyPrefix: prefix,
      leaseMs: 1000,
      heartbeatMs: 500,
      commandTimeoutMs: 1000,
    })
    closers.push(() => counters.close())
    expect([...(await counters.inflight(['paris', 'frankfurt'])).values()]).toEqual([0, 0])
  })

  it('without cluster: each replica fills the greenest backend on its own (the herd)', async () => {
    const paris = await countingStub(400)
    const frankfurt = await countingStub(400)
    const backends = [
      { id: 'paris', zone: 'FR', url: paris.url, maxConcurrency: 4 },
      { id: 'frankfurt', zone: 'DE', url: frankfurt.url, maxConcurrency: 32 },
    ]
    const replicas = [
      await replica(backends, undefined, REDIS_URL!),
      await replica(backends, undefined, REDIS_URL!),
    ]
    const results = await burst(replicas)
    expect(results.every((r) => r.status === 200)).toBe(true)
    expect(paris.peak).toBeGreaterThan(4) // up to 2 × 4: each replica fills it
    expect(await metric(replicas[0]!, 'wattline_cluster_redis_up')).toBeUndefined()
  })

  it('queue across replicas when the only backend is full, woken by slots freed elsewhere', async () => {
    const paris = await countingStub(300)
    const backends = [{ id: 'paris', zone: 'FR', url: paris.url, maxConcurrency: 4 }]
    const prefix = `wl-test-${randomUUID()}`
    closers.push(() => dropKeys(prefix))
    const replicas = [
      await replica(backends, clusterLines(prefix), REDIS_URL!),
      await replica(backends, clusterLines(prefix), REDIS_URL!),
    ]
    // Replica 1 takes every slot first, so replica 0's requests wait holding none: only slots
    // freed on replica 1, seen through the sync, can wake them.
    const first = Array.from({ length: 4 }, () => chat(replicas[1]!))
    while (paris.inflight < 4) await new Promise((r) => setTimeout(r, 5))
    const results = [...(await burst(replicas)), ...(await Promise.all(first))]
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(paris.peak).toBeLessThanOrEqual(4)
    expect(paris.served).toBe(20)
  })

  it("routes around a crashed replica's slots until their leases expire", async () => {
    const paris = await countingStub(20)
    const frankfurt = await countingStub(20)
    const backends = [
      { id: 'paris', zone: 'FR', url: paris.url, maxConcurrency: 4 },
      { id: 'frankfurt', zone: 'DE', url: frankfurt.url, maxConcurrency: 32 },
    ]
    const prefix = `wl-test-${randomUUID()}`
    closers.push(() => dropKeys(prefix))
    const leaseLines = ['lease_ms: 800', 'heartbeat_ms: 100']
    const survivor = await replica(backends, clusterLines(prefix, leaseLines), REDIS_URL!)
    // A replica holding paris's four slots dies: it never releases them nor renews them.
    const doomed = await openRedisLoadCounters({
      url: REDIS_URL!,
      keyPrefix: prefix,
      leaseMs: 800,
      heartbeatMs: 100,
      commandTimeoutMs: 1000,
    })
    for (let i = 0; i < 4; i++) expect((await doomed.acquire('paris', 4)).kind).toBe('acquired')
    const crashedAt = performance.now()
    await doomed.close()
    expect((await chat(survivor)).backend).toBe('frankfurt')
    expect(performance.now() - crashedAt).toBeLessThan(800)
    await new Promise((r) => setTimeout(r, 1000))
    expect((await chat(survivor)).backend).toBe('paris')
  })

  it('gives every slot back: success, 5xx retried elsewhere, resets, client aborts (JSON, SSE)', async () => {
    const stubs: StubBackend[] = [await startStub({ mode: '500' }), await startStub({})]
    for (const st of stubs) closers.push(() => st.close())
    const [paris, frankfurt] = stubs as [StubBackend, StubBackend]
    const backends = [
      { id: 'paris', zone: 'FR', url: paris.url, maxConcurrency: 4 },
      { id: 'frankfurt', zone: 'DE', url: frankfurt.url, maxConcurrency: 4 },
    ]
    const prefix = `wl-test-${randomUUID()}`
    closers.push(() => dropKeys(prefix))
    const gw = await replica(backends, clusterLines(prefix), REDIS_URL!)
    const counters = await openRedisLoadCounters({
      url: REDIS_URL!,
      keyPrefix: prefix,
      leaseMs: 1000,
      heartbeatMs: 500,
      commandTimeoutMs: 1000,
    })
    closers.push(() => counters.close())
    const settled = async (): Promise<number[]> => {
      // Releases are sent without waiting for Redis's answer: poll briefly.
      const deadline = performance.now() + 2000
      let counts: number[]
      do {
        counts = [...(await counters.inflight(['paris', 'frankfurt'])).values()]
        if (counts.every((n) => n === 0) && gw.gateway.inflight() === 0) break
        await new Promise((r) => setTimeout(r, 10))
      } while (performance.now() < deadline)
      return [...counts, gw.gateway.inflight()]
    }

    // paris answers 500: the attempt's slot goes back, the retry on frankfurt succeeds.
    expect(await chat(gw)).toEqual({ status: 200, backend: 'frankfurt' })
    expect(await settled()).toEqual([0, 0, 0])

    // Both reset the connection: 502 after two attempts, no slot left behind.
    paris.options = { mode: 'reset' }
    frankfurt.options = { mode: 'reset' }
    expect((await chat(gw)).status).toBe(502)
    expect(await settled()).toEqual([0, 0, 0])

    // The client leaves while the upstream thinks (JSON), and in the middle of a stream (SSE).
    paris.options = { mode: '500' }
    frankfurt.options = { delayMs: 2000 }
    for (const stream of [false, true]) {
      if (stream) frankfurt.options = { eventGapMs: 2000 }
      const stop = new AbortController()
      const res = fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, stream, messages: [{ role: 'user', content: 'x' }] }),
        signal: stop.signal,
      }).then(async (r) => {
        if (stream) await r.body?.getReader().read() // the first event arrived
        stop.abort()
      })
      if (!stream) {
        while ((await counters.inflight(['frankfurt'])).get('frankfurt') !== 1)
          await new Promise((r) => setTimeout(r, 10))
        stop.abort()
      }
      await res.catch(() => undefined)
      expect(await settled()).toEqual([0, 0, 0])
    }
  })

  it('keep answering when Redis goes away (local counting), and resume when it is back', async () => {
    const paris = await countingStub(300)
    const frankfurt = await countingStub(300)
    const backends = [
      { id: 'paris', zone: 'FR', url: paris.url, maxConcurrency: 4 },
      { id: 'frankfurt', zone: 'DE', url: frankfurt.url, maxConcurrency: 32 },
    ]
    const proxy = await cuttableProxy(REDIS_URL!)
    closers.push(() => proxy.cut())
    const prefix = `wl-test-${randomUUID()}`
    closers.push(() => dropKeys(prefix))
    const logs: { level: number; msg: string }[] = []
    const logger = pino(
      { level: 'warn' },
      { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) },
    )
    const gw = await replica(backends, clusterLines(prefix), proxy.url, logger)
    expect((await chat(gw)).status).toBe(200)
    expect(await metric(gw, 'wattline_cluster_redis_up')).toBe(1)

    await proxy.cut()
    const results = await Promise.all(Array.from({ length: 8 }, () => chat(gw)))
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200))
    // Local counting still holds this replica to the limit.
    expect(paris.peak).toBeLessThanOrEqual(4)
    expect(await metric(gw, 'wattline_cluster_redis_up')).toBe(0)
    expect(await metric(gw, 'wattline_cluster_fallback_total')).toBe(1)
    expect(logs.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'cluster load counters unavailable: counting this replica alone',
    ])

    await proxy.restore()
    const deadline = performance.now() + 5000
    while ((await metric(gw, 'wattline_cluster_redis_up')) !== 1 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    expect(await metric(gw, 'wattline_cluster_redis_up')).toBe(1)
    expect((await chat(gw)).status).toBe(200)
  })
})

describe.skipIf(REDIS_URL === undefined)('a replica started while Redis is unreachable', () => {
  it('serves counting alone, then joins the fleet count when Redis answers', async () => {
    const paris = await countingStub(10)
    const backends = [{ id: 'paris', zone: 'FR', url: paris.url, maxConcurrency: 4 }]
    const proxy = await cuttableProxy(REDIS_URL!)
    closers.push(() => proxy.cut())
    await proxy.cut()
    const prefix = `wl-test-${randomUUID()}`
    closers.push(() => dropKeys(prefix))
    const gw = await replica(backends, clusterLines(prefix), proxy.url)
    expect(await metric(gw, 'wattline_cluster_redis_up')).toBe(0)
    expect((await chat(gw)).status).toBe(200)
    await proxy.restore()
    const deadline = performance.now() + 5000
    while ((await metric(gw, 'wattline_cluster_redis_up')) !== 1 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    expect(await metric(gw, 'wattline_cluster_redis_up')).toBe(1)
    // Joined: a slot another replica holds counts against this one's limit.
    const other = await openRedisLoadCounters({
      url: REDIS_URL!,
      keyPrefix: prefix,
      leaseMs: 5000,
      heartbeatMs: 1000,
      commandTimeoutMs: 1000,
    })
    closers.push(() => other.close())
    for (let i = 0; i < 4; i++) expect((await other.acquire('paris', 4)).kind).toBe('acquired')
    const waiting = chat(gw)
    await new Promise((r) => setTimeout(r, 200))
    expect(paris.served).toBe(1)
    expect((await metric(gw, 'wattline_queue_depth{service="chat"}')) ?? 0).toBe(1)
    await other.close()
    await dropKeys(prefix) // the other replica's slots vanish (as if their leases expired)
    expect((await waiting).status).toBe(200)
    expect(paris.served).toBe(2)
  })
})

/** A TCP relay to Redis on 127.0.0.1 that a test can cut (an outage) and restore on the same port. */
async function cuttableProxy(
  target: string,
): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void> }> {
  const { hostname, port } = new URL(target)
  const sockets = new Set<Socket>()
  let server = createTcpServer()
  const listen = async (at: number): Promise<number> => {
    server = createTcpServer((client) => {
      const upstream = createConnection({ host: hostname, port: Number(port) })
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => s.destroy())
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((r) => server.listen(at, '127.0.0.1', () => r()))
    return (server.address() as AddressInfo).port
  }
  const at = await listen(0)
  let open = true
  return {
    url: `redis://127.0.0.1:${at}`,
    async cut() {
      if (!open) return
      open = false
      for (const s of sockets) s.destroy()
      await new Promise<void>((r) => server.close(() => r()))
    },
    async restore() {
      await listen(at)
      open = true
    },
  }
}

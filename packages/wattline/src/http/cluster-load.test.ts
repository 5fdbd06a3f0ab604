import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WattlineError, type LoadCounters } from '@wattline/core'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createLocalLoadCounters } from '../adapters/load/local-load-counters.ts'
import { createClusterLoad, type ClusterLoad } from './cluster-load.ts'
import { startGateway, type Harness } from './harness.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'

/** Counters over a shared local store that can be broken (a Redis outage) and mended. */
function breakable(inner: LoadCounters): LoadCounters & { broken: boolean; reads: number } {
  const wrap = {
    broken: false,
    reads: 0,
    acquire: (b: string, l: number) => guard(() => inner.acquire(b, l)),
    release: (lease: Parameters<LoadCounters['release']>[0]) => guard(() => inner.release(lease)),
    inflight: (ids: readonly string[]) => {
      wrap.reads += 1
      return guard(() => inner.inflight(ids))
    },
    close: () => inner.close(),
  }
  function guard<T>(run: () => Promise<T>): Promise<T> {
    if (wrap.broken) return Promise.reject(new WattlineError('WL_CLUSTER_UNAVAILABLE', 'down'))
    return run()
  }
  return wrap
}

function logCapture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = []
  const logger = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        warnings.push((JSON.parse(line) as { msg: string }).msg)
      },
    },
  )
  return { logger, warnings }
}

async function gauge(registry: Registry, name: string): Promise<number | undefined> {
  const m = await registry.getSingleMetric(name)?.get()
  return m?.values[0]?.value
}

describe('cluster load view', () => {
  it('routes on the global count: the answers of acquire and release update it, no read needed', async () => {
    const counters = breakable(createLocalLoadCounters())
    const registry = new Registry()
    const view = createClusterLoad({
      counters,
      backends: new Map([['paris', 'FR']]),
      registry,
      logger: pino({ level: 'silent' }),
    })
    expect(await view.sync()).toBe(true)
    // Another replica takes two slots; this one has not read since.
    const other = await counters.acquire('paris', 4)
    await counters.acquire('paris', 4)
    expect(view.inflight('paris', 0)).toBe(0)
    const mine = view.acquire('paris', 4, 0)
    expect(view.inflight('paris', 0)).toBe(1) // its own pending acquire counts at once
    const slot = await mine
    expect(slot.kind).toBe('acquired')
    expect(view.inflight('paris', 1)).toBe(3) // the answer carried the global count
    if (other.kind === 'acquired') view.release(other.lease) // (releasing on its behalf)
    await new Promise((r) => setImmediate(r))
    expect(view.inflight('paris', 1)).toBe(2)
    expect(view.inflight('paris', 5)).toBe(5) // never below the local count
    expect(counters.reads).toBe(1)
    await view.sync()
    expect(await gauge(registry, 'wattline_cluster_backend_inflight')).toBe(2)
  })

  it('a refused slot marks the backend full in the view and is counted', async () => {
    const counters = createLocalLoadCounters()
    const registry = new Registry()
    const view = createClusterLoad({
      counters,
      backends: new Map([['paris', 'FR']]),
      registry,
      logger: pino({ level: 'silent' }),
    })
    await view.sync()
    for (let i = 0; i < 2; i++) await counters.acquire('paris', 2)
    expect(await view.acquire('paris', 2, 0)).toEqual({ kind: 'full' })
    expect(view.inflight('paris', 0)).toBe(2)
    expect(await gauge(registry, 'wattline_cluster_acquire_refused_total')).toBe(1)
  })

  it('falls back to local counting on failure (one warning, metrics), back on the next sync', async () => {
    const counters = breakable(createLocalLoadCounters())
    const registry = new Registry()
    const { logger, warnings } = logCapture()
    const view = createClusterLoad({
      counters,
      backends: new Map([['paris', 'FR']]),
      registry,
      logger,
    })
    await view.sync()
    await counters.acquire('paris', 2)
    await counters.acquire('paris', 2)
    expect(await gauge(registry, 'wattline_cluster_redis_up')).toBe(1)
    counters.broken = true
    // Globally full, but Redis is gone: the local count (1 < 2) decides.
    expect(await view.acquire('paris', 2, 1)).toEqual({ kind: 'local' })
    expect(view.up).toBe(false)
    expect(view.inflight('paris', 1)).toBe(1)
    expect(await view.acquire('paris', 2, 2)).toEqual({ kind: 'full' })
    expect(await view.sync()).toBe(false)
    expect(warnings).toEqual(['cluster load counters unavailable: counting this replica alone'])
    expect(await gauge(registry, 'wattline_cluster_redis_up')).toBe(0)
    expect(await gauge(registry, 'wattline_cluster_fallback_total')).toBe(1)
    counters.broken = false
    expect(await view.sync()).toBe(true)
    expect(view.up).toBe(true)
    expect(view.inflight('paris', 0)).toBe(2)
    expect(await gauge(registry, 'wattline_cluster_redis_up')).toBe(1)
  })

  it('runs one sync at a time', async () => {
    const counters = breakable(createLocalLoadCounters())
    const view: ClusterLoad = createClusterLoad({
      counters,
      backends: new Map([['paris', 'FR']]),
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
    })
    await Promise.all([view.sync(), view.sync(), view.sync()])
    expect(counters.reads).toBe(1)
  })
})

describe('two gateways over one shared store (in process)', () => {
  const open: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c()
  })

  async function countingUpstream(delayMs: number): Promise<{ url: string; peak: () => number }> {
    let now = 0
    let peak = 0
    const server: Server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        if (req.method === 'GET') return void res.end('{"object":"list","data":[]}')
        peak = Math.max(peak, ++now)
        setTimeout(() => {
          now -= 1
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(
            JSON.stringify({
              id: 'c',
              object: 'chat.completion',
              created: 1,
              model: MODEL,
              choices: [
                { index: 0, message: { role: 'assistant', content: 'k' }, finish_reason: 'stop' },
              ],
              usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
            }),
          )
        }, delayMs)
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    open.push(
      () =>
        new Promise((r) => {
          server.closeAllConnections()
          server.close(() => r())
        }),
    )
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
      peak: () => peak,
    }
  }

  it('hold the greenest backend to max_concurrency across both and spill the rest', async () => {
    const paris = await countingUpstream(300)
    const frankfurt = await countingUpstream(300)
    const shared = createLocalLoadCounters()
    const config = {
      gateway: { health: { interval_ms: 60_000 } },
      services: [{ name: 'chat', default: true, routing: 'carbon-aware' }],
      backends: [
        {
          id: 'paris',
          url: paris.url,
          zone: 'FR',
          hardware: 'H100-SXM',
          models: [MODEL],
          max_concurrency: 4,
        },
        { id: 'frankfurt', url: frankfurt.url, zone: 'DE', hardware: 'H100-SXM', models: [MODEL] },
      ],
    }
    const gateways: Harness[] = []
    for (let i = 0; i < 2; i++) {
      const view = createClusterLoad({
        counters: shared,
        backends: new Map([
          ['paris', 'FR'],
          ['frankfurt', 'DE'],
        ]),
        registry: new Registry(),
        logger: pino({ level: 'silent' }),
      })
      await view.sync()
      const gw = await startGateway(config, { FR: 30, DE: 350 }, {}, view)
      open.push(() => gw.close())
      gateways.push(gw)
    }
    const answers = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const res = await fetch(`${gateways[i % 2]!.baseUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
        })
        await res.arrayBuffer()
        return [res.status, res.headers.get('x-wattline-backend')] as const
      }),
    )
    expect(answers.every(([status]) => status === 200)).toBe(true)
    expect(paris.peak()).toBeLessThanOrEqual(4)
    expect(answers.filter(([, b]) => b === 'paris').length).toBeGreaterThanOrEqual(4)
    expect(answers.filter(([, b]) => b === 'frankfurt').length).toBeGreaterThan(0)
    expect([...(await shared.inflight(['paris', 'frankfurt'])).values()]).toEqual([0, 0])
  })
})

/**
 * Cold start: until every backend has answered its first health probe, `/readyz` says `warming`
 * (503) and requests wait for the probe (bounded by `gateway.warmup_wait_ms`) instead of going to
 * backends nobody has checked; after it, `/readyz` is ready.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { startStub } from '../http/harness.test-support.ts'
import { writeOneBackendConfig } from './gateway-config.test-support.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** The stub behind a front that answers the health probe (`/v1/models`) only after `probeDelayMs`. */
async function slowProbe(probeDelayMs: number): Promise<string> {
  const stub = await startStub({ model: 'llama-3.1-8b-instruct' })
  cleanups.push(() => stub.close())
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const forward = async (): Promise<void> => {
        const url = new URL(stub.url)
        const r = await fetch(`${url.origin}${req.url ?? '/'}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': 'application/json' },
          ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
        })
        res.writeHead(r.status, {
          'content-type': r.headers.get('content-type') ?? 'application/json',
        })
        res.end(Buffer.from(await r.arrayBuffer()))
      }
      const delay = (req.url ?? '').endsWith('/models') ? probeDelayMs : 0
      setTimeout(() => void forward().catch(() => res.destroy()), delay)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
}

async function start(
  probeDelayMs: number,
  waitMs: number,
  upstreamUrl?: string,
): Promise<LiveGateway> {
  const upstream = upstreamUrl ?? (await slowProbe(probeDelayMs))
  const dir = mkdtempSync(join(tmpdir(), 'wl-warm-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  writeOneBackendConfig(dir, upstream, {
    gateway: [`warmup_wait_ms: ${waitMs}`, 'health:', '  timeout_ms: 5000'],
  })
  const live = await startLiveGateway({
    configPath: 'wattline.yaml',
    cwd: dir,
    env: {},
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  })
  cleanups.push(() => live.close())
  return live
}

const chat = (url: string): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'llama-3.1-8b-instruct',
      messages: [{ role: 'user', content: 'hi' }],
    }),
  })

describe('cold start', () => {
  it('is not ready until the first probe settles; requests meanwhile wait and are served', async () => {
    const live = await start(800, 10_000)
    const early = await fetch(`${live.url}/readyz`)
    expect(early.status).toBe(503)
    expect(await early.json()).toMatchObject({ status: 'warming', warming: true })
    const res = await chat(live.url)
    expect(res.status).toBe(200)
    const late = await fetch(`${live.url}/readyz`)
    expect(late.status).toBe(200)
    expect(await late.json()).toMatchObject({
      status: 'ready',
      warming: false,
      backends_up: ['paris'],
    })
  })

  it('is not ready after warm-up when the only backend refuses connections (its probe failed)', async () => {
    // A port that was just free: nothing listens there, so connections are refused. One failed
    // probe does not open the breaker (that takes several), which used to count the backend up.
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as AddressInfo).port
    await new Promise<void>((r) => server.close(() => r()))
    const live = await start(0, 10_000, `http://127.0.0.1:${port}/v1`)
    let body: unknown
    let status = 0
    for (let i = 0; i < 50; i++) {
      const r = await fetch(`${live.url}/readyz`)
      status = r.status
      body = await r.json()
      if ((body as { warming: boolean }).warming === false) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(status).toBe(503)
    expect(body).toMatchObject({ status: 'not ready', warming: false, backends_up: [] })
  })

  it('answers an OpenAI-shaped 503 when the probe outlasts warmup_wait_ms', async () => {
    const live = await start(3_000, 200)
    const res = await chat(live.url)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'WL_UPSTREAM_UNAVAILABLE',
    )
    // Every `/v1/` route waits, not only the model endpoints; the others do not.
    const models = await fetch(`${live.url}/v1/models`)
    expect(models.status).toBe(503)
    expect(((await models.json()) as { error: { code: string } }).error.code).toBe(
      'WL_UPSTREAM_UNAVAILABLE',
    )
    expect((await fetch(`${live.url}/healthz`)).status).toBe(200)
  })
})

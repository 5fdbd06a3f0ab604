/**
 * The undici upstream against the `Upstream` contract: the simulated model server (sim/), and small
 * loopback servers that echo, stay silent or drop connections. Plus what is this adapter's own: the
 * upstream's API key replaces any `authorization` the caller sent.
 */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net'
import { resolveProfile } from '@wattline/core'
import { testUpstream, type EchoedRequest } from '@wattline/core/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { startSimulatedBackend } from '../../sim/simulated-backend.ts'
import { createOpenAiUpstream, type UpstreamBody, type UpstreamOptions } from './openai-upstream.ts'

const MODEL = 'llama-3.1-8b-instruct'

function upstream(baseUrl: string, options: Partial<UpstreamOptions> = {}) {
  return createOpenAiUpstream({
    id: 'paris',
    baseUrl,
    connections: 4,
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 300,
    bodyTimeoutMs: 2_000,
    headers: {},
    ...options,
  })
}

const text = (body: UpstreamBody): Promise<string> => body.text()

/** Listens on a free loopback port; `stop` also destroys open sockets. */
async function listen(server: Server): Promise<{ port: number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    stop: () => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

async function startEcho() {
  const server = createHttpServer((req, res) => {
    void readAll(req).then((body) => {
      const status = /\/status\/(\d{3})$/.exec(req.url ?? '')?.[1]
      const seen: EchoedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [
            k,
            Array.isArray(v) ? v.join(', ') : (v ?? ''),
          ]),
        ),
        body_base64: body.toString('base64'),
      }
      const code = status === undefined ? 200 : Number(status)
      res.writeHead(code, { 'content-type': 'application/json' })
      res.end(code === 204 ? undefined : JSON.stringify(seen))
    })
  })
  return listen(server)
}

testUpstream<UpstreamBody>('openai-upstream (undici pool)', {
  async modelServer() {
    const sim = await startSimulatedBackend({
      model: MODEL,
      profile: resolveProfile({ model: MODEL, hardware: 'A100-80GB' }),
      zone: 'FR',
      timeScale: 1000,
    })
    return { upstream: upstream(sim.url), text, model: MODEL, stop: () => sim.close() }
  },
  async echo() {
    const { port, stop } = await startEcho()
    return { upstream: upstream(`http://127.0.0.1:${port}/v1`), text, prefix: '/v1', stop }
  },
  async refused() {
    // a port that was free a moment ago: bind, note it, close
    const { port, stop } = await listen(createTcpServer())
    await stop()
    return { upstream: upstream(`http://127.0.0.1:${port}/v1`), text }
  },
  async silent() {
    const { port, stop } = await listen(createTcpServer(() => undefined))
    return { upstream: upstream(`http://127.0.0.1:${port}/v1`), text, stop }
  },
  async resetting() {
    const { port, stop } = await listen(
      createTcpServer((socket) => socket.once('data', () => socket.destroy())),
    )
    return { upstream: upstream(`http://127.0.0.1:${port}/v1`), text, stop }
  },
})

describe('openai-upstream', () => {
  const stops: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const s of stops.splice(0)) await s()
  })

  it("sends the backend's API key and fixed headers, over any the caller set", async () => {
    const { port, stop } = await startEcho()
    const up = upstream(`http://127.0.0.1:${port}/openai/v1/`, {
      apiKey: 'sk-backend',
      headers: { 'x-team': 'inference' },
    })
    stops.push(async () => {
      await up.close()
      await stop()
    })
    const res = await up.request({
      method: 'POST',
      path: '/chat/completions',
      headers: { authorization: 'Bearer client-key', 'x-team': 'client' },
      body: '{}',
    })
    const seen = JSON.parse(await res.body.text()) as EchoedRequest
    expect(seen.path).toBe('/openai/v1/chat/completions')
    expect(seen.headers['authorization']).toBe('Bearer sk-backend')
    expect(seen.headers['x-team']).toBe('inference')
  })
})

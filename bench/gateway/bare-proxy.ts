/**
 * The bare Node floor for the gateway benchmark (`bench:gateway`'s `floor` target): fastify and
 * undici — the very packages and versions `wattline serve` uses (resolved from
 * packages/wattline) — proxying the same requests to the same stub, with nothing else: no routing,
 * accounting headers, ledger, metrics, logging or request ids.
 *
 * Per request, what any Node proxy of this API must do and no more: the body is read as bytes and
 * parsed as JSON (as the gateway's content-type parser does, raw bytes kept), `stream` is read from
 * the parsed body, the raw bytes go upstream through an undici `Pool` with the gateway's pool
 * options; a JSON answer is read whole and sent with its status and content type, an SSE answer is
 * relayed chunk by chunk straight to the socket (reply hijacked, upstream paused while the client is
 * slow), as the gateway relays it.
 *
 * Run: `node --import tsx bench/gateway/bare-proxy.ts <port> <upstream base URL, e.g.
 * http://127.0.0.1:8000/v1>`; loopback only; `/healthz` answers when it is listening.
 */
import { createRequire } from 'node:module'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type * as UndiciModule from 'undici'

// The gateway's own copies of fastify and undici (same versions, same files).
const fromGateway = createRequire(new URL('../../packages/wattline/package.json', import.meta.url))
const Fastify = fromGateway('fastify') as (opts: object) => FastifyInstance
const { Pool } = fromGateway('undici') as typeof UndiciModule

const port = Number(process.argv[2])
const upstream = new URL(process.argv[3] ?? '')
const prefix = upstream.pathname.replace(/\/+$/, '')
const pool = new Pool(upstream.origin, {
  connections: 1024,
  connectTimeout: 10_000,
  headersTimeout: 300_000,
  bodyTimeout: 300_000,
  keepAliveTimeout: 10_000,
})

const app = Fastify({ logger: false })
app.removeAllContentTypeParsers()
app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
  ;(req as FastifyRequest & { rawBody?: Buffer }).rawBody = body as Buffer
  try {
    done(null, (body as Buffer).length === 0 ? undefined : JSON.parse(body.toString('utf8')))
  } catch (error) {
    done(error as Error, undefined)
  }
})

app.get('/healthz', () => ({ status: 'ok' }))

for (const endpoint of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) {
  app.post(endpoint, async (req, reply) => {
    const body = req.body as { stream?: unknown } | undefined
    const stream = body?.stream === true
    const res = await pool.request({
      method: 'POST',
      path: `${prefix}${endpoint.slice(3)}`,
      headers: {
        'content-type': 'application/json',
        accept: stream ? 'text/event-stream' : 'application/json',
      },
      body: (req as FastifyRequest & { rawBody?: Buffer }).rawBody ?? null,
    })
    const contentType = String(res.headers['content-type'] ?? 'application/json')
    if (stream && res.statusCode === 200 && contentType.includes('text/event-stream')) {
      relay(res.body, reply)
      return reply
    }
    const text = await res.body.text()
    return reply.code(res.statusCode).header('content-type', contentType).send(text)
  })
}

/** The SSE answer straight to the socket, chunk by chunk, with backpressure. */
function relay(body: UndiciModule.Dispatcher.ResponseData['body'], reply: FastifyReply): void {
  const res = reply.raw
  reply.hijack()
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
  })
  body.on('data', (chunk: Buffer) => {
    if (!res.write(chunk)) body.pause()
  })
  res.on('drain', () => body.resume())
  body.once('end', () => res.end())
  body.once('error', () => res.destroy())
  res.once('close', () => {
    if (!body.destroyed) body.destroy()
  })
}

await app.listen({ port, host: '127.0.0.1' })
console.log(`listening ${String(port)}`)
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    void app.close().then(() => pool.close())
  })

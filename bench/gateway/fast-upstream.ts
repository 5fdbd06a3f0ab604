/**
 * A fast OpenAI-compatible stub upstream for the gateway benchmark: answers every chat completion
 * at once from precomputed bytes (a JSON completion, or 5 SSE chunks + a usage chunk + `[DONE]` when
 * the body asks for `"stream": true`), plus `/v1/models` and `/healthz` for the gateway's probes.
 * Loopback only. Run: `node --import tsx bench/gateway/fast-upstream.ts <port>`; prints
 * `listening <port>` when ready.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const MODEL = 'llama-3.1-8b-instruct'
const usage = { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 }
const base = { id: 'chatcmpl-bench', created: 1_700_000_000, model: MODEL }
const JSON_BODY = Buffer.from(
  JSON.stringify({
    ...base,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello from the fast stub' },
        finish_reason: 'stop',
      },
    ],
    usage,
  }),
)
const words = ['Hello', ' from', ' the', ' fast', ' stub']
const SSE_BODY = Buffer.from(
  [
    ...words.map((w, i) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [
        {
          index: 0,
          delta: i === 0 ? { role: 'assistant', content: w } : { content: w },
          finish_reason: i === words.length - 1 ? 'stop' : null,
        },
      ],
    })),
    { ...base, object: 'chat.completion.chunk', choices: [], usage },
  ]
    .map((e) => `data: ${JSON.stringify(e)}\n\n`)
    .join('') + 'data: [DONE]\n\n',
)
const MODELS = Buffer.from(
  JSON.stringify({
    object: 'list',
    data: [{ id: MODEL, object: 'model', owned_by: 'bench-stub' }],
  }),
)
const HEALTH = Buffer.from('{"status":"ok"}')

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    if (req.method === 'POST' && req.url?.startsWith('/v1/chat/completions')) {
      const stream = Buffer.concat(chunks).includes('"stream":true')
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        res.end(SSE_BODY)
      } else {
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': JSON_BODY.length,
        })
        res.end(JSON_BODY)
      }
      return
    }
    if (req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': MODELS.length })
      res.end(MODELS)
      return
    }
    if (req.url === '/healthz' || req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': HEALTH.length })
      res.end(HEALTH)
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end('{"error":{"message":"not found","type":"invalid_request_error"}}')
  })
})
server.keepAliveTimeout = 65_000
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening ${String((server.address() as AddressInfo).port)}`)
})
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => server.close())

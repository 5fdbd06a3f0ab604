/**
 * Security of the gateway's HTTP surface, tried as an attacker would on a real gateway on loopback
 * (figures in docs/reliability.md, "Security"): authentication before the body is read, no long
 * echo of client input in error messages, and upstreams that come only from the config (a canary
 * server on loopback that must receive nothing).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  startGateway,
  startStub,
  type Harness,
  type StubBackend,
} from '../http/harness.test-support.ts'
import { MAX_ECHO_CHARS } from '../http/openai-errors.ts'
import { rawGet, rawRequest } from '../http/raw-http.test-support.ts'
import { atScale } from './scale.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const KEY = 'sk-acme-123'

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string }
}

describe('security of the HTTP surface', () => {
  let stub: StubBackend
  let gw: Harness
  let port: number
  let canary: Server
  let canaryHits: string[]
  let canaryPort: number

  beforeAll(async () => {
    canaryHits = []
    canary = createServer((req, res) => {
      canaryHits.push(`${req.method} ${req.url} host=${req.headers.host}`)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"id":"canary","object":"chat.completion","choices":[]}')
    })
    await new Promise<void>((r) => canary.listen(0, '127.0.0.1', () => r()))
    canaryPort = (canary.address() as AddressInfo).port
    stub = await startStub()
    gw = await startGateway(
      {
        services: [
          { name: 'chat', default: true, api_keys: [{ tenant: 'acme', key_env: 'ACME_KEY' }] },
        ],
        backends: [
          { id: 'paris', url: stub.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL] },
        ],
      },
      { FR: 30 },
      { ACME_KEY: KEY },
    )
    port = Number(new URL(gw.baseUrl).port)
  })
  afterAll(async () => {
    await gw.close()
    await stub.close()
    await new Promise<void>((r) => canary.close(() => r()))
  })

  const post = (
    path: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<Response> =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    })

  describe('authenticates before reading the body', () => {
    it('answers 401, not 400, to bad JSON without a key (and 400 with one)', async () => {
      for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) {
        for (const body of ['{"model": ', 'not json', '\u0000\u00ff', '[', '']) {
          const res = await post(path, body)
          expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(401)
          expect(((await res.json()) as ErrorBody).error.code).toBe('WL_UNAUTHORIZED')
          const wrong = await post(path, body, { authorization: 'Bearer sk-wrong' })
          expect(wrong.status).toBe(401)
          await wrong.body?.cancel()
        }
        const keyed = await post(path, '{"model": ', { authorization: `Bearer ${KEY}` })
        expect(keyed.status).toBe(400)
        expect(((await keyed.json()) as ErrorBody).error.code).toBe('WL_INVALID_INPUT')
      }
    })

    it('refuses a keyless request announcing a large body without waiting for the body', async () => {
      const started = Date.now()
      const a = await rawRequest(
        port,
        'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 3000000\r\nConnection: close\r\n\r\n{"model":',
        5_000,
      )
      expect(a.status).toBe(401)
      expect(Date.now() - started).toBeLessThan(4_000)
    })
  })

  describe('never echoes more than ~200 characters of client input', () => {
    const long = 'x'.repeat(10_000)
    const headers = { authorization: `Bearer ${KEY}` }
    const cases: { name: string; send: () => Promise<{ status: number; body: string }> }[] = [
      {
        name: '10 kB model name',
        send: async () => {
          const r = await post(
            '/v1/chat/completions',
            JSON.stringify({ model: long, messages: [{ role: 'user', content: 'hi' }] }),
            headers,
          )
          return { status: r.status, body: await r.text() }
        },
      },
      {
        name: '10 kB x-wattline-service',
        send: async () => {
          const r = await post(
            '/v1/chat/completions',
            JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
            { ...headers, 'x-wattline-service': long },
          )
          return { status: r.status, body: await r.text() }
        },
      },
      {
        name: '10 kB bad JSON body',
        send: async () => {
          const r = await post('/v1/chat/completions', `{"model": "${long}`, headers)
          return { status: r.status, body: await r.text() }
        },
      },
      {
        name: '10 kB bad JSON token',
        send: async () => {
          const r = await post('/v1/chat/completions', long, headers)
          return { status: r.status, body: await r.text() }
        },
      },
      {
        name: '7 kB unknown path',
        send: () => rawGet(port, `/${'x'.repeat(7_000)}`),
      },
      {
        name: '7 kB malformed percent-encoding',
        send: () => rawGet(port, `/v1/${'x'.repeat(7_000)}%zz`),
      },
      {
        name: '10 kB path (414)',
        send: () => rawGet(port, `/${'x'.repeat(10_000)}`),
      },
      {
        name: '10 kB field value in messages',
        send: async () => {
          const r = await post(
            '/v1/chat/completions',
            JSON.stringify({ model: MODEL, messages: long }),
            headers,
          )
          return { status: r.status, body: await r.text() }
        },
      },
    ]
    for (const c of cases) {
      it(c.name, async () => {
        const { status, body } = await c.send()
        expect(status).toBeGreaterThanOrEqual(400)
        expect(status).toBeLessThan(500)
        const e = (JSON.parse(body) as ErrorBody).error
        expect(e.code).toMatch(/^WL_/)
        expect(e.message).not.toContain('x'.repeat(MAX_ECHO_CHARS + 1))
        expect(e.message.length).toBeLessThan(MAX_ECHO_CHARS + 200)
      })
    }
  })

  describe('takes upstreams only from the config (no SSRF)', () => {
    const canaryUrl = (): string => `http://127.0.0.1:${canaryPort}`
    it('sends nothing to a server named in headers, model names or the request target', async () => {
      const c = canaryUrl()
      const hostPort = `127.0.0.1:${canaryPort}`
      const headerSets: Record<string, string>[] = [
        { host: hostPort },
        { 'x-forwarded-host': hostPort },
        {
          'x-forwarded-for': '127.0.0.1',
          'x-forwarded-proto': 'http',
          'x-forwarded-port': String(canaryPort),
        },
        { forwarded: `host=${hostPort};proto=http` },
        { 'x-wattline-backend': c },
        { 'x-wattline-backend': 'canary' },
        { 'x-wattline-upstream': c },
        { 'x-original-url': `${c}/v1/chat/completions` },
        { 'x-rewrite-url': `${c}/v1/chat/completions` },
        { 'x-backend-url': c },
        { 'x-wattline-service': c },
      ]
      const models = [
        MODEL,
        `${c}/`,
        `${c}/v1/chat/completions`,
        `//${hostPort}/`,
        `../../${hostPort}`,
        '../',
        '../../../../etc/passwd',
        `${MODEL}/../../`,
        `@${hostPort}`,
        `${MODEL}@${hostPort}`,
        `${MODEL}#${c}`,
        `${MODEL}\r\nHost: ${hostPort}`,
      ]
      const rounds = atScale(3, 1)
      let sent = 0
      for (let round = 0; round < rounds; round++) {
        for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/embeddings']) {
          for (const model of models) {
            for (const h of headerSets) {
              const body =
                path === '/v1/chat/completions'
                  ? { model, messages: [{ role: 'user', content: 'hi' }] }
                  : path === '/v1/completions'
                    ? { model, prompt: 'hi' }
                    : { model, input: 'hi' }
              const res = await post(path, JSON.stringify(body), {
                authorization: `Bearer ${KEY}`,
                ...h,
              }).catch(() => undefined)
              await res?.body?.cancel()
              sent += 1
            }
          }
        }
        // absolute-form request targets naming the canary (a forward-proxy request)
        for (const target of [
          `${c}/v1/chat/completions`,
          `http://${hostPort}/v1/models`,
          `//${hostPort}/v1/chat/completions`,
        ]) {
          const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'x' }] })
          await rawRequest(
            port,
            `POST ${target} HTTP/1.1\r\nHost: ${hostPort}\r\nAuthorization: Bearer ${KEY}\r\n` +
              `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
              `Connection: close\r\n\r\n${body}`,
          )
          sent += 1
        }
      }
      expect(sent).toBeGreaterThan(390 * rounds)
      expect(canaryHits).toEqual([])
      // the configured backend did serve the well-formed requests
      expect(stub.received.length).toBeGreaterThan(0)
      for (const r of stub.received) expect(r.headers.host).toBe(new URL(stub.url).host)
    })
  })
})

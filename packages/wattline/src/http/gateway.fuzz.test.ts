/**
 * Fuzzing the gateway's HTTP surface: seeded fast-check runs over methods, paths (known, encoded,
 * odd and random), headers and bodies, through fastify's inject and, for what node's own HTTP parser
 * answers (431, malformed request lines), over real sockets. Every answer ≥ 400 is OpenAI-shaped
 * with a catalogued WL_ code matching its status; nothing is ever 5xx.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ERROR_CODES } from '@wattline/core'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerDashboardApi } from './api/dashboard-api.ts'
import { createDashboardFixture } from './api/dashboard-fixture.test-support.ts'
import { createMemoryLedgerReader } from './api/memory-ledger-reader.ts'
import { registerDashboardStatic } from './dashboard-static.ts'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'
import { rawGet, rawRequest, type RawAnswer } from './raw-http.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const SEED = Number(process.env['WL_FUZZ_SEED'] ?? 20_261_205)
const RUNS = 2_400
const fixture = createDashboardFixture(Date.UTC(2025, 5, 16, 12), 2)
const dashRoot = mkdtempSync(join(tmpdir(), 'wl-fuzz-dash-'))

/** Statuses each catalogued code may be answered with. */
const STATUS_OF: Record<string, readonly number[]> = {
  WL_INVALID_INPUT: [400, 405, 406, 409, 415, 416],
  WL_UNKNOWN_MODEL: [404],
  WL_NO_BACKEND: [404],
  WL_NOT_FOUND: [404],
  WL_UNAUTHORIZED: [401],
  WL_FORBIDDEN: [403],
  WL_OVERLOADED: [429],
  WL_REQUEST_TOO_LARGE: [413, 414, 431],
  WL_REQUEST_TIMEOUT: [408],
}

/** Asserts the OpenAI error shape with a catalogued WL_ code that fits `status`. */
function expectErrorShape(status: number, text: string, what: string): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error(`${what}: ${status} body is not JSON: ${text.slice(0, 200)}`)
  }
  const e = (parsed as { error?: Record<string, unknown> }).error
  expect(e, what).toBeDefined()
  expect(Object.keys(parsed as object), what).toEqual(['error'])
  expect(Object.keys(e ?? {}).sort(), what).toEqual(['code', 'message', 'param', 'type'])
  expect(typeof e?.['message'], what).toBe('string')
  expect(typeof e?.['type'], what).toBe('string')
  expect(e?.['param'] === null || typeof e?.['param'] === 'string', what).toBe(true)
  const code = String(e?.['code'])
  expect(ERROR_CODES as readonly string[], what).toContain(code)
  expect(STATUS_OF[code] ?? [], `${what}: ${code} with ${status}`).toContain(status)
  return code
}

describe('request handling under fuzzing', () => {
  let stub: StubBackend
  let gw: Harness
  let port: number
  beforeAll(async () => {
    mkdirSync(join(dashRoot, 'assets'), { recursive: true })
    writeFileSync(join(dashRoot, 'index.html'), '<!doctype html><title>dash</title>')
    writeFileSync(join(dashRoot, 'assets', 'app-abc.js'), 'console.log(1)')
    stub = await startStub()
    gw = await startGateway(
      {
        gateway: { body_limit_bytes: 64 * 1024, admin_token_env: 'WL_ADMIN' },
        services: [{ name: 'chat', default: true }],
        backends: [
          { id: 'paris', url: stub.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL] },
        ],
      },
      { FR: 30 },
      { WL_ADMIN: 'admin-secret' },
      undefined,
      {
        plugins: [
          async (app: FastifyInstance) => {
            registerDashboardApi(app, {
              ledger: createMemoryLedgerReader(fixture.records),
              live: fixture.live,
              budgets: { budgets: () => fixture.budgets },
              now: () => fixture.now,
              registry: new Registry(),
            })
            await registerDashboardStatic(app, { root: dashRoot })
          },
        ],
      },
    )
    port = Number(new URL(gw.baseUrl).port)
  })
  afterAll(async () => {
    await gw.close()
    await stub.close()
    rmSync(dashRoot, { recursive: true, force: true })
  })

  const field = fc.oneof(
    fc.jsonValue(),
    fc.constant(MODEL),
    fc.constant(true),
    fc.constant([{ role: 'user', content: 'x' }]),
    fc.string({ maxLength: 300 }),
  )
  const body = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .dictionary(
        fc.constantFrom(
          'model',
          'messages',
          'prompt',
          'input',
          'stream',
          'stream_options',
          'max_tokens',
          'n',
          '__proto__',
          'constructor',
        ),
        field,
      )
      .map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')),
    fc.constant('x'.repeat(70 * 1024)),
    fc.constant(''),
  )
  const printable = fc.string({ maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s))
  const header = fc.dictionary(
    fc.constantFrom(
      'content-type',
      'authorization',
      'x-wattline-service',
      'x-request-id',
      'accept',
      'content-encoding',
      'origin',
      'x-forwarded-for',
    ),
    fc.oneof(
      printable,
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
        'gzip',
        'Bearer admin-secret',
        'Bearer nope',
        'chat',
      ),
    ),
  )
  const known = [
    '/v1/chat/completions',
    '/v1/completions',
    '/v1/embeddings',
    '/v1/models',
    '/healthz',
    '/readyz',
    '/metrics',
    '/api',
    '/api/overview',
    '/api/services/chat',
    '/api/decisions',
    '/dashboard',
    '/dashboard/',
    '/dashboard/assets/app-abc.js',
  ]
  const pathChar = fc.constantFrom(
    ..."abcxyzAZ019-._~!$&'()*+,;=:@/%?#".split(''),
    '%2e',
    '%2f',
    '%00',
    '%zz',
    '%',
    '..',
    '//',
    '%c3%a9',
    '%ff',
  )
  const path = fc.oneof(
    fc.constantFrom(...known),
    fc
      .tuple(fc.constantFrom(...known), fc.array(pathChar, { maxLength: 6 }))
      .map(([p, tail]) => p + tail.join('')),
    fc.array(pathChar, { maxLength: 20 }).map((cs) => `/${cs.join('')}`),
    fc.constantFrom('/v1/nope', '/dashboard/../../etc/passwd', '/dashboard/%2e%2e/%2e%2e/x'),
  )
  const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS')

  it(`never answers 5xx and always answers errors in OpenAI shape (${RUNS} seeded cases)`, async () => {
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(path, method, body, header, async (url, m, payload, headers) => {
        const res = await gw.app.inject({
          method: m as 'GET',
          url,
          headers,
          ...(m === 'GET' || m === 'HEAD' ? {} : { payload }),
        })
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
        const what = `${m} ${url} ${JSON.stringify(headers)} ${payload.slice(0, 80)}`
        expect(res.statusCode, what).toBeLessThan(500)
        if (res.statusCode >= 400 && m !== 'HEAD') {
          const code = expectErrorShape(res.statusCode, res.body, what)
          // the status follows from the request where the request alone decides it
          const route = url.split('?')[0] as string
          if (!/[%.;:@!$&'()*+,=~#\s]|\/\//.test(route) && !known.includes(route))
            if (!route.startsWith('/dashboard/') && !route.startsWith('/api/services/')) {
              // a body can be refused (too large, unreadable) before the route is known missing
              if (m === 'GET') expect(code, what).toBe('WL_NOT_FOUND')
              else
                expect(
                  ['WL_NOT_FOUND', 'WL_REQUEST_TOO_LARGE', 'WL_INVALID_INPUT'],
                  what,
                ).toContain(code)
            }
        }
        // the caller is checked first (an unknown service is 400 before the body is read)
        const service = headers['x-wattline-service']
        const callerOk = service === undefined || service === 'chat'
        const type = headers['content-type']
        const jsonType = type === undefined || type.startsWith('application/json')
        if (m === 'POST' && url === '/v1/chat/completions' && payload.length > 64 * 1024)
          expect(res.statusCode, what).toBe(callerOk && jsonType ? 413 : 400)
      }),
      { numRuns: RUNS, seed: SEED },
    )
    if (process.env['WL_FUZZ_REPORT'] !== undefined)
      console.info(`fuzz seed ${SEED}: statuses ${JSON.stringify(Object.fromEntries(statuses))}`)
    expect(gw.gateway.inflight()).toBe(0)
    // the cases reached both successes and many kinds of refusal
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThanOrEqual(4)
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
  }, 120_000)

  describe("node's and fastify's own refusals, sent raw on a socket", () => {
    const post = (target: string, extra: string, payload: string): string =>
      `POST ${target} HTTP/1.1\r\nHost: x\r\n${extra}Content-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`
    const cases: { name: string; status: number; send: () => Promise<RawAnswer> }[] = [
      {
        name: 'bad JSON',
        status: 400,
        send: () =>
          rawRequest(port, post('/v1/chat/completions', 'Content-Type: application/json\r\n', '{')),
      },
      {
        name: 'bad content-type (form data)',
        status: 400,
        send: () =>
          rawRequest(
            port,
            post(
              '/v1/chat/completions',
              'Content-Type: application/x-www-form-urlencoded\r\n',
              'a=b',
            ),
          ),
      },
      {
        name: 'gzip content-encoding it cannot read',
        status: 400,
        send: () =>
          rawRequest(
            port,
            post(
              '/v1/chat/completions',
              'Content-Type: application/json\r\nContent-Encoding: gzip\r\n',
              '{}',
            ),
          ),
      },
      { name: 'unknown route', status: 404, send: () => rawGet(port, '/v2/chat') },
      { name: 'unknown method', status: 404, send: () => rawGet(port, '/v1/models', {}, 'DELETE') },
      {
        name: 'body over the limit',
        status: 413,
        send: () =>
          rawRequest(
            port,
            post('/v1/chat/completions', 'Content-Type: application/json\r\n', 'x'.repeat(70_000)),
          ),
      },
      { name: 'URL over 8 kB', status: 414, send: () => rawGet(port, `/v1/${'a'.repeat(9_000)}`) },
      {
        name: 'route parameter over the router limit',
        status: 414,
        send: () =>
          rawGet(port, `/api/services/${'a'.repeat(200)}`, {
            authorization: 'Bearer admin-secret',
          }),
      },
      {
        name: 'headers over 16 kB',
        status: 431,
        send: () => rawGet(port, '/v1/models', { 'x-big': 'a'.repeat(20_000) }),
      },
      { name: 'malformed percent-encoding', status: 400, send: () => rawGet(port, '/v1/%zz') },
      {
        name: 'malformed request line',
        status: 400,
        send: () => rawRequest(port, 'GARBAGE\r\n\r\n'),
      },
      {
        name: 'bad header name',
        status: 400,
        send: () => rawRequest(port, 'GET /healthz HTTP/1.1\r\nHo st: x\r\n\r\n'),
      },
      {
        name: 'conflicting content-length',
        status: 400,
        send: () =>
          rawRequest(
            port,
            'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
          ),
      },
      {
        name: "the dashboard's 404 (POST under /dashboard/)",
        status: 404,
        send: () => rawRequest(port, post('/dashboard/x', '', '')),
      },
      {
        name: 'a path escaping the dashboard folder',
        status: 404,
        send: () => rawGet(port, '/dashboard/%2e%2e/%2e%2e/package.json', {}, 'POST'),
      },
    ]
    for (const c of cases) {
      it(`${c.name} → ${c.status}`, async () => {
        const a = await c.send()
        expect(a.status, a.body.slice(0, 300)).toBe(c.status)
        expect(a.headers['content-type']).toContain('application/json')
        expectErrorShape(a.status, a.body, c.name)
      })
    }
  })
})

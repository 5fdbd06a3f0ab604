/**
 * Refusals and disconnects as an operator sees them: 503s counted in
 * `wattline_requests_rejected_total` with their service and logged as one warn line without a stack;
 * 429 floods logged once per burst with a count; client disconnects logged at info, never as errors.
 * The gateway's pino output is captured line by line.
 */
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'
import { rawRequest } from './raw-http.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'
const msg = [{ role: 'user' as const, content: 'hi' }]
const WINDOW_MS = 400

interface LogLine {
  level: number
  msg: string
  [k: string]: unknown
}

/** A pino logger writing JSON lines into `lines`. */
function capture(): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = []
  const raw: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) {
        if (l === '') continue
        raw.push(l)
        lines.push(JSON.parse(l) as LogLine)
      }
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream) as Logger, lines, raw }
}

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.reverse()) await c()
  cleanup = []
})

async function setup(
  stubOpts: Parameters<typeof startStub>[0],
  backend: Record<string, unknown>,
  service: Record<string, unknown>,
  logger: Logger,
  gateway: Record<string, unknown> = {},
): Promise<{ gw: Harness; stub: StubBackend }> {
  const stub = await startStub(stubOpts)
  const gw = await startGateway(
    {
      gateway: { health: { interval_ms: 60_000 }, ...gateway },
      services: [{ name: 'chat', default: true, ...service }],
      backends: [
        {
          id: 'paris',
          url: stub.url,
          zone: 'FR',
          hardware: 'H100-SXM',
          models: [MODEL],
          ...backend,
        },
      ],
    },
    { FR: 30 },
    {},
    undefined,
    { logger, refusalLogWindowMs: WINDOW_MS },
  )
  cleanup.push(async () => {
    await gw.close()
    await stub.close()
  })
  return { gw, stub }
}

const post = (gw: Harness, body: unknown = { model: MODEL, messages: msg }): Promise<Response> =>
  fetch(`${gw.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

const metricValue = async (gw: Harness, name: string, labels: string): Promise<number> => {
  const text = await gw.metrics.registry.metrics()
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

const until = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('503 refusals', () => {
  it('are counted with their service and logged as one warn line per burst, no stack', async () => {
    const { logger, lines, raw } = capture()
    const { gw, stub } = await setup({ mode: 'reset' }, {}, {}, logger, {
      breaker: { failure_threshold: 1, cooldown_ms: 60_000 },
      max_attempts: 1,
    })
    // the first request finds the backend failing (502) and opens its breaker
    const first = await post(gw)
    expect(first.status).toBe(502)
    await first.body?.cancel()
    stub.kill()
    const n = 25
    const results = await Promise.all(Array.from({ length: n }, () => post(gw)))
    for (const r of results) {
      expect(r.status).toBe(503)
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(
        'WL_UPSTREAM_UNAVAILABLE',
      )
    }
    expect(
      await metricValue(
        gw,
        'wattline_requests_rejected_total',
        'service="chat",reason="no_healthy_backend"',
      ),
    ).toBe(n)
    // The deprecated name counts the same.
    expect(
      await metricValue(
        gw,
        'wattline_rejected_requests_total',
        'service="chat",reason="no_healthy_backend"',
      ),
    ).toBe(n)
    expect(
      await metricValue(
        gw,
        'wattline_requests_total',
        'service="chat",model="",backend="none",zone="none",status="503"',
      ),
    ).toBe(n)
    // one warn line for the burst at once, one summary line with the count after the window
    await until(() => lines.some((l) => l['suppressed'] !== undefined))
    const about503 = lines.filter((l) => l['status'] === 503)
    expect(about503).toHaveLength(2)
    expect(about503.every((l) => l.level === 40)).toBe(true)
    expect(about503[0]?.['service']).toBe('chat')
    expect(about503[1]?.['suppressed']).toBe(n - 1)
    expect(raw.filter((l) => l.includes('"status":503')).join('\n')).not.toContain('stack')
    expect(lines.filter((l) => l.level >= 50)).toEqual([])
  })
})

describe('429 refusals', () => {
  it('are logged once per burst with a count, not once per request', async () => {
    const { logger, lines } = capture()
    const { gw } = await setup(
      { delayMs: 300 },
      { max_concurrency: 1 },
      {
        queue: { max_size: 1, timeout_ms: 5000 },
      },
      logger,
    )
    const n = 120
    const results = await Promise.all(Array.from({ length: n }, () => post(gw)))
    const refused = results.filter((r) => r.status === 429).length
    for (const r of results) await r.body?.cancel()
    expect(refused).toBeGreaterThanOrEqual(n - 10)
    expect(
      await metricValue(
        gw,
        'wattline_requests_rejected_total',
        'service="chat",reason="overloaded"',
      ),
    ).toBe(refused)
    await until(() => lines.some((l) => l['suppressed'] !== undefined))
    const about429 = lines.filter((l) => l['status'] === 429)
    expect(about429.length).toBeLessThanOrEqual(3)
    const counted = about429.reduce((s, l) => s + (Number(l['suppressed']) || 0), 0)
    expect(counted + 1).toBe(refused)
    expect(about429.every((l) => l.level === 30)).toBe(true)
  })
})

describe('client disconnects', () => {
  it('are logged at info without a stack, whether waiting for the upstream or sending the body', async () => {
    const { logger, lines, raw } = capture()
    const { gw, stub } = await setup({ delayMs: 2_000 }, {}, {}, logger)
    // 1: the client leaves while the gateway waits for the upstream's answer
    const ctrl = new AbortController()
    const pending = fetch(`${gw.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, messages: msg }),
      signal: ctrl.signal,
    }).catch(() => undefined)
    await until(() => stub.received.length === 1)
    ctrl.abort()
    await pending
    await until(() => lines.some((l) => /client closed/.test(l.msg)))
    // 2: the client leaves halfway through sending its body
    const port = Number(new URL(gw.baseUrl).port)
    await rawRequest(
      port,
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Content-Length: 1000\r\n\r\n{"model":',
      2_000,
    ).catch(() => undefined)
    await until(() => lines.filter((l) => /client closed/.test(l.msg)).length >= 2)
    await new Promise((r) => setTimeout(r, 200))
    const closed = lines.filter((l) => /client closed/.test(l.msg))
    expect(closed.every((l) => l.level === 30)).toBe(true)
    expect(lines.filter((l) => l.level >= 40)).toEqual([])
    expect(raw.join('\n')).not.toContain('"stack"')
  })
})

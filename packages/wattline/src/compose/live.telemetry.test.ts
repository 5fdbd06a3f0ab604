/**
 * OpenTelemetry traces end to end: a live gateway with a `telemetry:` section exports, over
 * OTLP/HTTP to a collector on loopback, a SERVER span per request and a CLIENT child span named and
 * attributed after the gen_ai semantic conventions, carrying the same energy and carbon as the
 * ledger row and the response headers. Without the section nothing is exported.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import OpenAI from 'openai'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { requestRecord } from '@wattline/core/testing'
import { createRequestTracing } from '../adapters/telemetry/request-tracing.ts'
import { startStub, type StubBackend } from '../http/harness.test-support.ts'
import { writeOneBackendConfig } from './gateway-config.test-support.ts'
import { startLiveGateway, type LiveGateway } from './live.ts'

interface OtlpValue {
  readonly stringValue?: string
  readonly intValue?: string | number
  readonly doubleValue?: number
  readonly boolValue?: boolean
}
interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
  readonly startTimeUnixNano: string
  readonly endTimeUnixNano: string
  readonly attributes: readonly { key: string; value: OtlpValue }[]
  readonly status?: { code?: number }
}
interface Collector {
  readonly url: string
  readonly spans: OtlpSpan[]
  readonly resources: Record<string, unknown>[]
  readonly headers: Record<string, string | string[] | undefined>[]
  close(): Promise<void>
}

/** A minimal OTLP/HTTP (JSON) traces receiver. */
async function startCollector(): Promise<Collector> {
  const spans: OtlpSpan[] = []
  const resources: Record<string, unknown>[] = []
  const headers: Record<string, string | string[] | undefined>[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      headers.push(req.headers)
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: OtlpValue }[] }
          scopeSpans: { spans: OtlpSpan[] }[]
        }[]
      }
      for (const rs of body.resourceSpans) {
        resources.push(
          Object.fromEntries(rs.resource.attributes.map((a) => [a.key, value(a.value)])),
        )
        for (const ss of rs.scopeSpans) spans.push(...ss.spans)
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    resources,
    headers,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

function value(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  return v.boolValue
}

const attrs = (s: OtlpSpan): Record<string, unknown> =>
  Object.fromEntries(s.attributes.map((a) => [a.key, value(a.value)]))

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function start(
  gatewayLines: string[],
  extra: string[],
  env: Record<string, string> = {},
): Promise<{ live: LiveGateway; stub: StubBackend; dir: string }> {
  const stub = await startStub({ model: 'llama-3.1-8b-instruct' })
  cleanups.push(() => stub.close())
  const dir = mkdtempSync(join(tmpdir(), 'wl-otel-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  writeOneBackendConfig(dir, stub.url, { gateway: gatewayLines })
  if (extra.length > 0) {
    const { appendFileSync } = await import('node:fs')
    appendFileSync(join(dir, 'wattline.yaml'), `${extra.join('\n')}\n`)
  }
  const live = await startLiveGateway({
    configPath: 'wattline.yaml',
    cwd: dir,
    env,
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  })
  cleanups.push(() => live.close())
  return { live, stub, dir }
}

describe('OpenTelemetry traces (telemetry.otlp)', () => {
  it('exports gen_ai spans with the ledger’s energy and carbon for each request', async () => {
    const collector = await startCollector()
    cleanups.push(() => collector.close())
    const { live, dir } = await start(
      [],
      [
        'telemetry:',
        '  otlp:',
        `    endpoint: ${collector.url}`,
        '    headers_env: OTEL_HEADERS',
        '  service_name: chat-gateway',
      ],
      { OTEL_HEADERS: 'x-api-key=s3cret,x-team=ml%20platform' },
    )
    const client = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: 'x', maxRetries: 0 })
    const { response } = await client.chat.completions
      .create({ model: 'llama-3.1-8b-instruct', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse()
    const energyHeader = Number(response.headers.get('x-wattline-energy-j'))
    const requestId = response.headers.get('x-request-id')
    await live.close() // flushes the ledger and the exporter

    const server = collector.spans.find((s) => s.kind === 2)
    const call = collector.spans.find((s) => s.kind === 3)
    expect(server?.name).toBe('POST /v1/chat/completions')
    expect(call?.name).toBe('chat llama-3.1-8b-instruct')
    expect(call?.parentSpanId).toBe(server?.spanId)
    expect(call?.traceId).toBe(server?.traceId)
    const a = attrs(call as OtlpSpan)
    expect(a).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'llama-3.1-8b-instruct',
      'server.address': '127.0.0.1',
    })
    expect(a['gen_ai.usage.input_tokens']).toBeGreaterThan(0)
    expect(a['gen_ai.usage.output_tokens']).toBeGreaterThan(0)
    const s = attrs(server as OtlpSpan)
    expect(s['wattline.request_id']).toBe(requestId)
    expect(s['http.response.status_code']).toBe(200)
    expect(s['wattline.energy_method']).toBe('modelled')
    expect(s['wattline.zone']).toBe('FR')
    const row = new Database(join(dir, 'ledger.db'), { readonly: true })
      .prepare('SELECT energy_j, carbon_g, at_ms, latency_ms FROM requests WHERE id = ?')
      .get(requestId) as { energy_j: number; carbon_g: number; at_ms: number; latency_ms: number }
    expect(s['wattline.energy_j']).toBe(row.energy_j)
    expect(s['wattline.carbon_g']).toBe(row.carbon_g)
    expect(row.energy_j).toBeCloseTo(energyHeader, 3)
    expect(Number(BigInt(server?.startTimeUnixNano ?? '0') / 1_000_000n)).toBe(row.at_ms)
    expect(s['wattline.energy_low_j']).toBeLessThanOrEqual(row.energy_j)
    expect(collector.resources[0]?.['service.name']).toBe('chat-gateway')
    expect(collector.headers[0]?.['x-api-key']).toBe('s3cret')
    expect(collector.headers[0]?.['x-team']).toBe('ml platform')
  })

  it('marks a failed request’s spans as errors with its WL_ code', async () => {
    const collector = await startCollector()
    cleanups.push(() => collector.close())
    const tracing = createRequestTracing({
      endpoint: collector.url,
      serviceName: 'wattline-gateway',
      sampleRatio: 1,
      backendUrls: new Map([['paris', 'https://gpu.example/v1']]),
      version: '0.1.0',
    })
    // A stream that broke after its first byte: the ledger row the gateway writes for it.
    tracing.record({
      ...requestRecord(1, { backend: 'paris' }),
      status: 502,
      streamed: true,
      latency_ms: 1_234,
      error_code: 'WL_UPSTREAM_UNAVAILABLE',
    })
    await tracing.close()
    const server = collector.spans.find((s) => s.kind === 2)
    const call = collector.spans.find((s) => s.kind === 3)
    expect(server?.status?.code).toBe(2)
    expect(call?.status?.code).toBe(2)
    expect(attrs(server as OtlpSpan)['error.type']).toBe('WL_UPSTREAM_UNAVAILABLE')
    expect(attrs(call as OtlpSpan)).toMatchObject({
      'server.address': 'gpu.example',
      'server.port': 443,
    })
    const ns = BigInt(call?.endTimeUnixNano ?? '0') - BigInt(call?.startTimeUnixNano ?? '0')
    expect(Number(ns / 1_000_000n)).toBe(1_234)
  })

  it('rejects malformed collector headers at startup, naming the variable and not the value', async () => {
    await expect(
      start(
        [],
        [
          'telemetry:',
          '  otlp:',
          '    endpoint: http://127.0.0.1:1/v1/traces',
          '    headers_env: H',
        ],
        { H: 'no-equals-sign-secret' },
      ),
    ).rejects.toThrow(
      /telemetry\.otlp\.headers_env: environment variable H must hold key=value pairs/,
    )
    await expect(
      start(
        [],
        [
          'telemetry:',
          '  otlp:',
          '    endpoint: http://127.0.0.1:1/v1/traces',
          '    headers_env: H',
        ],
        {
          H: 'no-equals-sign-secret',
        },
      ),
    ).rejects.not.toThrow(/no-equals-sign-secret/)
  })

  it('exports nothing without a telemetry section', async () => {
    const collector = await startCollector()
    cleanups.push(() => collector.close())
    const { live } = await start([], [])
    const client = new OpenAI({ baseURL: `${live.url}/v1`, apiKey: 'x', maxRetries: 0 })
    await client.chat.completions.create({
      model: 'llama-3.1-8b-instruct',
      messages: [{ role: 'user', content: 'hi' }],
    })
    await live.close()
    expect(collector.spans).toEqual([])
  })
})

import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, startStub, type Harness, type StubBackend } from './harness.test-support.ts'

const MODEL = 'llama-3.1-8b-instruct'

describe('request handling under fuzzing', () => {
  let stub: StubBackend
  let gw: Harness
  beforeAll(async () => {
    stub = await startStub()
    gw = await startGateway(
      {
        gateway: { body_limit_bytes: 64 * 1024 },
        services: [{ name: 'chat', default: true }],
        backends: [
          { id: 'paris', url: stub.url, zone: 'FR', hardware: 'H100-SXM', models: [MODEL] },
        ],
      },
      { FR: 30 },
    )
  })
  afterAll(async () => {
    await gw.close()
    await stub.close()
  })

  const field = fc.oneof(
    fc.jsonValue(),
    fc.constant(MODEL),
    fc.constant(true),
    fc.constant([{ role: 'user', content: 'x' }]),
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
        ),
        field,
      )
      .map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString('latin1')),
  )
  const header = fc.dictionary(
    fc.constantFrom(
      'content-type',
      'authorization',
      'x-wattline-service',
      'x-request-id',
      'accept',
    ),
    fc.string({ maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  )
  const path = fc.constantFrom(
    '/v1/chat/completions',
    '/v1/completions',
    '/v1/embeddings',
    '/v1/models',
    '/v1/nope',
    '/healthz',
  )

  it('never answers 5xx and never crashes, whatever the body and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        path,
        fc.constantFrom('GET', 'POST', 'PUT'),
        body,
        header,
        async (url, method, payload, headers) => {
          const res = await gw.app.inject({
            method: method as 'GET' | 'POST' | 'PUT',
            url,
            headers,
            ...(method === 'GET' ? {} : { payload }),
          })
          expect(res.statusCode, `${method} ${url} ${payload.slice(0, 80)}`).toBeLessThan(500)
          if (res.statusCode >= 400 && url !== '/healthz') {
            const parsed = JSON.parse(res.body) as { error?: { message?: unknown; type?: unknown } }
            expect(typeof parsed.error?.message).toBe('string')
            expect(typeof parsed.error?.type).toBe('string')
          }
        },
      ),
      { numRuns: 300 },
    )
    expect(gw.gateway.inflight()).toBe(0)
  })
})

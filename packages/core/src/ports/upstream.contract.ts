/**
 * @module ports/upstream.contract
 * The contract every `Upstream` adapter's test runs, against servers the adapter's test starts on
 * loopback: a simulated OpenAI-compatible model server, an echo server (what arrived, byte for byte),
 * an address where nothing listens, a server that never answers and one that drops every connection.
 * It holds what the gateway's pipeline relies on: the request goes out as given (prefix, path,
 * headers, body), HTTP errors are answers and not rejections, every failure is an `UpstreamFailure`
 * whose `kind` decides retries, `probe` never rejects and keeps to its deadline.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { UpstreamFailure, type Upstream, type UpstreamFailureKind } from './upstream.ts'

/** An upstream pointed at one scenario's server, and how to read its bodies. */
export interface UpstreamFixture<Body> {
  readonly upstream: Upstream<Body>
  /** Reads a response body to text (the body type is the adapter's). */
  readonly text: (body: Body) => Promise<string>
  /** Stops what the fixture started (servers). The contract closes the upstream itself first. */
  readonly stop?: () => Promise<void>
}

/** What the echo server answers: the request as it arrived. */
export interface EchoedRequest {
  readonly method: string
  /** The request target as received: the upstream's base URL prefix, then the port's `path`. */
  readonly path: string
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  /** The body as received, base64 (so bytes that are not UTF-8 compare exactly). */
  readonly body_base64: string
}

export interface UpstreamScenarios<Body> {
  /**
   * A simulated OpenAI-compatible model server serving `model` under the upstream's base URL:
   * `POST /chat/completions` (404 for another model), `GET /models`; other paths 404.
   */
  readonly modelServer: () => Promise<UpstreamFixture<Body> & { readonly model: string }>
  /**
   * Answers every request with JSON {@link EchoedRequest}, status 200, or the status `N` when the
   * path ends in `/status/N`. `prefix` is the path of the upstream's base URL (e.g. `/v1`).
   */
  readonly echo: () => Promise<UpstreamFixture<Body> & { readonly prefix: string }>
  /** An address where nothing listens (connection refused). */
  readonly refused: () => Promise<UpstreamFixture<Body>>
  /**
   * A server that accepts connections and never answers; the upstream's deadline for response
   * headers is short (at most 2 s).
   */
  readonly silent: () => Promise<UpstreamFixture<Body>>
  /** A server that closes each connection as soon as a request arrives, answering nothing. */
  readonly resetting: () => Promise<UpstreamFixture<Body>>
}

/** Registers the port's contract tests for one adapter. */
export function testUpstream<Body>(name: string, scenarios: UpstreamScenarios<Body>): void {
  describe(`Upstream contract: ${name}`, () => {
    const open: UpstreamFixture<Body>[] = []
    afterEach(async () => {
      for (const f of open.splice(0)) {
        await f.upstream.close().catch(() => undefined)
        await f.stop?.()
      }
    })
    async function use<F extends UpstreamFixture<Body>>(make: () => Promise<F>): Promise<F> {
      const f = await make()
      open.push(f)
      return f
    }

    it('sends a completion to the model server and hands back its answer', async () => {
      const f = await use(scenarios.modelServer)
      expect(f.upstream.id.length).toBeGreaterThan(0)
      const res = await f.upstream.request({
        method: 'POST',
        path: '/chat/completions',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: f.model,
          messages: [{ role: 'user', content: 'How much energy does this take?' }],
          max_tokens: 5,
        }),
      })
      expect(res.status).toBe(200)
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/)
      const answer = JSON.parse(await f.text(res.body)) as {
        object: string
        choices: unknown[]
        usage: { completion_tokens: number }
      }
      expect(answer.object).toBe('chat.completion')
      expect(answer.choices).toHaveLength(1)
      expect(answer.usage.completion_tokens).toBe(5)
      const models = await f.upstream.request({ method: 'GET', path: '/models' })
      expect(models.status).toBe(200)
      expect(await f.text(models.body)).toContain(f.model)
    })

    it('resolves HTTP errors as answers (status and body), never as rejections', async () => {
      const f = await use(scenarios.modelServer)
      const res = await f.upstream.request({
        method: 'POST',
        path: '/chat/completions',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: `not-${f.model}`, messages: [] }),
      })
      expect(res.status).toBe(404)
      expect(JSON.parse(await f.text(res.body))).toHaveProperty('error')
      const e = await use(scenarios.echo)
      const failed = await e.upstream.request({ method: 'GET', path: '/status/503' })
      expect(failed.status).toBe(503)
      await e.text(failed.body)
    })

    it('sends the request as given: prefix and path, method, caller headers, body bytes', async () => {
      const f = await use(scenarios.echo)
      const text = '{"messages":[{"content":"Grüße, 你好 — ünïcode"}]}'
      const res = await f.upstream.request({
        method: 'POST',
        path: '/chat/completions?trace=1',
        headers: { 'x-request-id': 'req-42', 'content-type': 'application/json' },
        body: text,
      })
      const seen = JSON.parse(await f.text(res.body)) as EchoedRequest
      expect(seen.method).toBe('POST')
      expect(seen.path).toBe(`${f.prefix}/chat/completions?trace=1`)
      expect(seen.headers['x-request-id']).toBe('req-42')
      expect(fromBase64(seen.body_base64)).toEqual(new TextEncoder().encode(text))

      const bytes = new Uint8Array([0, 255, 10, 13, 128, 1, 2, 3])
      const raw = await f.upstream.request({ method: 'POST', path: '/embeddings', body: bytes })
      expect(fromBase64((JSON.parse(await f.text(raw.body)) as EchoedRequest).body_base64)).toEqual(
        bytes,
      )

      const get = await f.upstream.request({ method: 'GET', path: '/models' })
      const got = JSON.parse(await f.text(get.body)) as EchoedRequest
      expect([got.method, got.path, got.body_base64]).toEqual(['GET', `${f.prefix}/models`, ''])
    })

    it('serves concurrent requests, each with its own answer', async () => {
      const f = await use(scenarios.echo)
      const ids = Array.from({ length: 24 }, (_, i) => `r${i}`)
      const seen = await Promise.all(
        ids.map(async (id) => {
          const res = await f.upstream.request({
            method: 'POST',
            path: `/chat/completions`,
            headers: { 'x-request-id': id },
            body: id,
          })
          return (JSON.parse(await f.text(res.body)) as EchoedRequest).headers['x-request-id']
        }),
      )
      expect(seen).toEqual(ids)
    })

    it('probes: true on 2xx, false on an error status or a missing route, never rejects', async () => {
      const m = await use(scenarios.modelServer)
      expect(await m.upstream.probe('/models', 5_000)).toBe(true)
      expect(await m.upstream.probe('/no-such-route', 5_000)).toBe(false)
      const e = await use(scenarios.echo)
      expect(await e.upstream.probe('/status/204', 5_000)).toBe(true)
      expect(await e.upstream.probe('/status/500', 5_000)).toBe(false)
      const r = await use(scenarios.refused)
      expect(await r.upstream.probe('/models', 5_000)).toBe(false)
    })

    it('rejects a refused connection as a retryable `connect` failure of this backend', async () => {
      const f = await use(scenarios.refused)
      await expectFailure(f.upstream, 'connect', true)
    })

    it('rejects a server that never answers as a retryable `timeout`', async () => {
      const f = await use(scenarios.silent)
      await expectFailure(f.upstream, 'timeout', true)
    })

    it('keeps to the probe deadline on a server that never answers', async () => {
      const f = await use(scenarios.silent)
      const started = Date.now()
      expect(await f.upstream.probe('/models', 150)).toBe(false)
      // the deadline is the probe's own (150 ms), not the upstream's longer headers timeout
      expect(Date.now() - started).toBeLessThan(1_500)
    })

    it('rejects a dropped connection as a retryable `reset`', async () => {
      const f = await use(scenarios.resetting)
      await expectFailure(f.upstream, 'reset', true)
    })

    it("rejects the caller's abort as `aborted`, which is not retried", async () => {
      const f = await use(scenarios.silent)
      const controller = new AbortController()
      const pending = f.upstream.request({
        method: 'POST',
        path: '/chat/completions',
        body: '{}',
        signal: controller.signal,
      })
      setTimeout(() => controller.abort(), 20)
      const error = await pending.then(
        () => undefined,
        (e: unknown) => e,
      )
      expectFailureValue(error, f.upstream.id, 'aborted', false)
    })

    it('rejects with an UpstreamFailure after close, never a raw error', async () => {
      const f = await use(scenarios.echo)
      await f.upstream.close()
      const error = await f.upstream.request({ method: 'GET', path: '/models' }).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(UpstreamFailure)
      expect((error as UpstreamFailure).backend).toBe(f.upstream.id)
    })
  })
}

async function expectFailure<Body>(
  upstream: Upstream<Body>,
  kind: UpstreamFailureKind,
  retryable: boolean,
): Promise<void> {
  const error = await upstream
    .request({ method: 'POST', path: '/chat/completions', body: '{}' })
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  expectFailureValue(error, upstream.id, kind, retryable)
}

function expectFailureValue(
  error: unknown,
  backend: string,
  kind: UpstreamFailureKind,
  retryable: boolean,
): void {
  expect(error, 'expected the request to reject').toBeInstanceOf(UpstreamFailure)
  const f = error as UpstreamFailure
  expect([f.kind, f.retryable, f.backend]).toEqual([kind, retryable, backend])
  expect(f.message).toContain(backend)
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text)
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}

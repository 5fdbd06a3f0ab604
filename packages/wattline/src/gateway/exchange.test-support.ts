/**
 * @module gateway/exchange.test-support
 * Test support for the interceptors: real backend runtimes (attribution tracker, breaker) over a
 * scripted upstream, a parsed config, a virtual clock, an intensity board, an exchange ready to
 * dispatch and how a response ended. Imported by tests only.
 */
import { testProfile } from '@wattline/core/test-profile'
import { instant, VirtualClock } from '@wattline/core'
import type {
  Upstream,
  UpstreamRequest,
  UpstreamResponse,
} from '../adapters/upstream/openai-upstream.ts'
import { parseConfig, type WattlineConfig } from '../config/parse-config.ts'
import { createBackendRuntime, type BackendRuntime } from '../http/backend-runtime.ts'
import type { DispatchInput, FinishInput } from './exchange-types.ts'
import { fixedIntensity, realClock, TEST_CATALOG } from '../http/harness.test-support.ts'
import { createIntensityBoard, type IntensityBoard } from '../http/intensity-board.ts'
import { Exchange } from './pipeline.ts'

export const MODEL = 'llama-3.1-8b-instruct'

/** A config with backends `a`, `b`, `c` (FR, DE, PL) and one service `chat`. */
export function testConfig(service: Record<string, unknown> = {}): WattlineConfig {
  const parsed = parseConfig(
    {
      services: [{ name: 'chat', default: true, ...service }],
      backends: ['a', 'b', 'c'].map((id, i) => ({
        id,
        url: `http://127.0.0.1:${9000 + i}/v1`,
        zone: ['FR', 'DE', 'PL'][i],
        hardware: 'H100-SXM',
        models: [MODEL],
        max_concurrency: 4,
      })),
    },
    { catalog: TEST_CATALOG, env: {} },
  )
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues))
  return parsed.value
}

/** An upstream answering from a script: a response, or an error to throw. */
export function scriptedUpstream(
  id: string,
  answer: (req: UpstreamRequest) => Promise<UpstreamResponse>,
): Upstream & { readonly requests: UpstreamRequest[] } {
  const requests: UpstreamRequest[] = []
  return {
    id,
    requests,
    request: (req) => {
      requests.push(req)
      return answer(req)
    },
    probe: async () => true,
    close: async () => {},
  }
}

/** A response with a body that counts `dump()` calls. */
export function response(status: number): UpstreamResponse & { dumped: () => number } {
  let dumped = 0
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: {
      dump: async () => {
        dumped++
      },
      text: async () => '{}',
    } as unknown as UpstreamResponse['body'],
    dumped: () => dumped,
  }
}

export function runtimes(
  config: WattlineConfig,
  upstream?: (id: string) => Upstream,
): BackendRuntime[] {
  return config.backends.map((b) =>
    createBackendRuntime(
      b,
      upstream?.(b.id) ?? scriptedUpstream(b.id, async () => response(200)),
      new Map([[MODEL, testProfile()]]),
      0,
    ),
  )
}

export const clockAt = (ms = 1_000): VirtualClock => new VirtualClock(instant(ms))

export function exchange(config: WattlineConfig, over: Partial<DispatchInput> = {}): Exchange {
  return new Exchange({
    service: config.services[0]!,
    model: MODEL,
    inputTokens: 100,
    outputTokens: 50,
    path: '/chat/completions',
    bodyFor: () => '{}',
    headers: {},
    signal: new AbortController().signal,
    ...over,
  })
}

/** How a response ended (answered 200 unless `over` says otherwise). */
export function finishInput(over: Partial<FinishInput> = {}): FinishInput {
  return {
    status: 200,
    inputTokens: 100,
    outputTokens: 50,
    ttftMs: null,
    streamed: false,
    endpoint: '/v1/chat/completions',
    requestId: 'r',
    tenant: null,
    arrivedMs: 0,
    errorCode: null,
    completed: true,
    ...over,
  }
}

/** An intensity board over fixed values (default: the test config's FR 50, DE 300, PL 600), read. */
export async function testIntensity(
  values: Record<string, number> = { FR: 50, DE: 300, PL: 600 },
): Promise<IntensityBoard> {
  const board = createIntensityBoard({
    source: fixedIntensity(values),
    clock: realClock,
    zones: Object.keys(values),
    signal: 'average',
  })
  await board.refresh()
  return board
}

/**
 * @module sim/demo-traffic
 * Replays the shipped Azure conversation trace sample against an OpenAI-compatible URL (the
 * gateway), open loop: request i is sent at its trace arrival offset ÷ `rateMultiplier`, with a
 * prompt of the trace's input tokens (≈ 4 bytes per token, as the simulated backends count them) and
 * `max_tokens` = the trace's output tokens. The trace loops until stopped. A bounded number of
 * requests may be in flight; arrivals beyond it are counted as dropped, never queued without bound.
 */
import { setMaxListeners } from 'node:events'
import { performance } from 'node:perf_hooks'
import { Pool } from 'undici'
import type { TraceRequest, TraceSample } from './trace-sample.ts'

export interface DemoTrafficOptions {
  /** OpenAI base URL including `/v1`. */
  readonly url: string
  readonly model: string
  readonly trace: TraceSample
  /** Arrival rate relative to the sample (which is 1/10 of the original trace's rate). */
  readonly rateMultiplier: number
  /** Every k-th request streams (SSE with include_usage); 0 = none. */
  readonly streamEvery: number
  /** Requests in flight at most; arrivals beyond it are dropped and counted. */
  readonly maxInflight: number
  /** Prompts are capped at this many tokens (the sample's longest is far above typical). */
  readonly maxInputTokens: number
  /** Stops new arrivals; requests in flight then get `graceMs` to finish before being aborted. */
  readonly signal: AbortSignal
  /** Default 0: abort at once. */
  readonly graceMs?: number
  /** Called just before request `index` is sent. */
  readonly onSend?: (index: number) => void
  /** Called when request `index` has finished (any outcome). */
  readonly onResult: (result: DemoRequestResult) => void
}

export interface DemoRequestResult {
  /** Arrival order from 0. */
  readonly index: number
  readonly status: number
  readonly streamed: boolean
  /** Gateway headers (`x-wattline-*`); null when absent. */
  readonly backend: string | null
  readonly zone: string | null
  readonly energyJ: number | null
  readonly carbonG: number | null
  /** Tokens from the response's `usage`; 0 when none came. */
  readonly inputTokens: number
  readonly outputTokens: number
  readonly latencyMs: number
  /** Set when the request failed (network error or non-2xx status). */
  readonly error: string | null
}

export interface DemoTrafficStats {
  readonly sent: number
  readonly dropped: number
  readonly inflight: number
}

export interface DemoTraffic {
  stats(): DemoTrafficStats
  /** Resolves when the signal has aborted and every request in flight has ended. */
  readonly done: Promise<void>
}

const FILLER = 'grid carbon energy watt hour zone load wind solar token '

/** A prompt that the simulated backends count as `tokens` tokens (4 bytes each). */
export function promptOf(tokens: number): string {
  const bytes = Math.max(1, tokens) * 4
  return FILLER.repeat(Math.ceil(bytes / FILLER.length)).slice(0, bytes)
}

/** Starts replaying the trace; stop it with the signal. */
export function startDemoTraffic(o: DemoTrafficOptions): DemoTraffic {
  if (!(o.rateMultiplier > 0)) throw new RangeError('rateMultiplier must be positive')
  const base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`)
  const pool = new Pool(base.origin, { connections: o.maxInflight, bodyTimeout: 0 })
  const path = `${base.pathname}chat/completions`
  const rows = o.trace.requests
  const loopMs = o.trace.spanMs + 1_000
  let sent = 0
  let dropped = 0
  const inflight = new Set<Promise<void>>()
  let timer: NodeJS.Timeout | undefined
  const controller = new AbortController()
  // One signal is shared by every request in flight (bounded by maxInflight).
  setMaxListeners(o.maxInflight + 16, controller.signal)
  const t0 = performance.now()

  async function send(index: number, row: TraceRequest): Promise<void> {
    const stream = o.streamEvery > 0 && index % o.streamEvery === o.streamEvery - 1
    const body = JSON.stringify({
      model: o.model,
      messages: [{ role: 'user', content: promptOf(Math.min(row.inputTokens, o.maxInputTokens)) }],
      max_tokens: Math.max(1, row.outputTokens),
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    })
    const started = performance.now()
    const result = (r: Partial<DemoRequestResult>): DemoRequestResult => ({
      index,
      status: 0,
      streamed: stream,
      backend: null,
      zone: null,
      energyJ: null,
      carbonG: null,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: performance.now() - started,
      error: null,
      ...r,
    })
    try {
      const res = await pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `demo-${String(index)}` },
        body,
        signal: controller.signal,
      })
      const text = await res.body.text()
      const header = (name: string): string | null => {
        const v = res.headers[name]
        return typeof v === 'string' ? v : null
      }
      const num = (name: string): number | null => {
        const v = header(name)
        return v === null || !Number.isFinite(Number(v)) ? null : Number(v)
      }
      const usage = stream ? lastUsage(text) : jsonUsage(text)
      o.onResult(
        result({
          status: res.statusCode,
          backend: header('x-wattline-backend'),
          zone: header('x-wattline-zone'),
          energyJ: num('x-wattline-energy-j'),
          carbonG: num('x-wattline-carbon-g'),
          inputTokens: usage?.prompt_tokens ?? 0,
          outputTokens: usage?.completion_tokens ?? 0,
          error:
            res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP ${String(res.statusCode)}`,
        }),
      )
    } catch (error) {
      if (controller.signal.aborted) return
      o.onResult(result({ error: error instanceof Error ? error.message : String(error) }))
    }
  }

  function schedule(): void {
    if (o.signal.aborted) return
    const row = rows[sent % rows.length]
    if (row === undefined) return
    const due = (Math.floor(sent / rows.length) * loopMs + row.arrivalOffsetMs) / o.rateMultiplier
    const wait = t0 + due - performance.now()
    timer = setTimeout(
      () => {
        const index = sent
        sent += 1
        if (inflight.size >= o.maxInflight) dropped += 1
        else {
          o.onSend?.(index)
          const p = send(index, row).finally(() => inflight.delete(p))
          inflight.add(p)
        }
        schedule()
      },
      Math.max(0, wait),
    )
  }

  const done = new Promise<void>((resolve) => {
    const finish = (): void => {
      if (timer !== undefined) clearTimeout(timer)
      // Let requests in flight finish (bounded by graceMs), then abort the rest.
      const grace = setTimeout(() => controller.abort(), o.graceMs ?? 0)
      void Promise.allSettled([...inflight])
        .then(() => {
          clearTimeout(grace)
          return pool.destroy()
        })
        .then(() => resolve())
    }
    if (o.signal.aborted) finish()
    else o.signal.addEventListener('abort', finish, { once: true })
  })
  schedule()

  return {
    stats: () => ({ sent, dropped, inflight: inflight.size }),
    done,
  }
}

interface Usage {
  readonly prompt_tokens?: number
  readonly completion_tokens?: number
}

function jsonUsage(text: string): Usage | undefined {
  try {
    return (JSON.parse(text) as { usage?: Usage }).usage
  } catch {
    return undefined
  }
}

/** The `usage` of the last SSE event that carries one. */
function lastUsage(text: string): Usage | undefined {
  let usage: Usage | undefined
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
    const u = jsonUsage(line.slice(6))
    if (u !== undefined && u !== null) usage = u
  }
  return usage
}

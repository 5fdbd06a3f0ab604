/**
 * @module benchmark/run-workload
 * Drives a fixed list of requests against an OpenAI-compatible endpoint (`POST {target}/chat/completions`)
 * with `concurrency` requests in flight (undici Pool), and reports each request's tokens (the
 * upstream's `usage`, else the workload's lengths) and latency. Prompts are synthetic text of about
 * the workload's input length (≈ 1 token per word); `max_tokens` is the workload's output length.
 */
import { Pool } from 'undici'
import { seededRandom } from '@wattline/core'

/** One request of the workload. */
export interface WorkloadRequest {
  readonly inputTokens: number
  readonly outputTokens: number
}

/** One request's outcome. */
export interface RequestOutcome {
  readonly ok: boolean
  readonly status: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly latencyMs: number
  /** Why a failed request failed (connection error, timeout, `HTTP 503`); absent when ok. */
  readonly error?: string
}

export interface RunWorkloadOptions {
  /** Base URL including `/v1`. */
  readonly target: string
  readonly model: string
  readonly concurrency: number
  /** Per-request timeout, ms. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
  readonly onDone?: () => void
}

/** Picks `n` requests from a trace deterministically (seeded sampling without replacement, in trace order). */
export function sampleWorkload(
  trace: {
    readonly inputTokens: ArrayLike<number>
    readonly outputTokens: ArrayLike<number>
    readonly count: number
  },
  n: number,
  seed: number,
): WorkloadRequest[] {
  const count = trace.count
  const indices = Array.from({ length: count }, (_, i) => i)
  const random = seededRandom(seed)
  const take = Math.min(n, count)
  for (let i = 0; i < take; i += 1) {
    const j = i + Math.floor(random.next() * (count - i))
    const tmp = indices[i] as number
    indices[i] = indices[j] as number
    indices[j] = tmp
  }
  const chosen = indices.slice(0, take).sort((a, b) => a - b)
  const out = chosen.map((i) => ({
    inputTokens: Math.max(1, Math.round(trace.inputTokens[i] as number)),
    outputTokens: Math.max(1, Math.round(trace.outputTokens[i] as number)),
  }))
  // more requests than the trace holds: cycle through the sample
  for (let i = take; i < n; i += 1) out.push(out[i % take] as WorkloadRequest)
  return out
}

/** Runs every request once; resolves with outcomes in workload order. */
export async function runWorkload(
  requests: readonly WorkloadRequest[],
  options: RunWorkloadOptions,
): Promise<{ outcomes: RequestOutcome[]; durationMs: number }> {
  const url = new URL(options.target.endsWith('/') ? options.target : `${options.target}/`)
  const path = `${url.pathname}chat/completions`
  const pool = new Pool(url.origin, {
    connections: options.concurrency,
    headersTimeout: options.timeoutMs ?? 600_000,
    bodyTimeout: options.timeoutMs ?? 600_000,
  })
  const outcomes: RequestOutcome[] = new Array<RequestOutcome>(requests.length)
  let next = 0
  const started = performance.now()
  const worker = async (): Promise<void> => {
    while (next < requests.length && options.signal?.aborted !== true) {
      const i = next
      next += 1
      outcomes[i] = await one(pool, path, requests[i] as WorkloadRequest, options)
      options.onDone?.()
    }
  }
  try {
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency, requests.length) }, worker),
    )
  } finally {
    await pool.close()
  }
  return {
    outcomes: outcomes.filter((o) => o !== undefined),
    durationMs: performance.now() - started,
  }
}

async function one(
  pool: Pool,
  path: string,
  req: WorkloadRequest,
  options: RunWorkloadOptions,
): Promise<RequestOutcome> {
  const body = JSON.stringify({
    model: options.model,
    messages: [{ role: 'user', content: prompt(req.inputTokens) }],
    max_tokens: req.outputTokens,
    stream: false,
  })
  const t0 = performance.now()
  try {
    const res = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    const text = await res.body.text()
    const latencyMs = performance.now() - t0
    if (res.statusCode >= 400) {
      return {
        ok: false,
        status: res.statusCode,
        inputTokens: 0,
        outputTokens: 0,
        latencyMs,
        error: `HTTP ${String(res.statusCode)}: ${text.slice(0, 200)}`,
      }
    }
    const usage = readUsage(text)
    return {
      ok: true,
      status: res.statusCode,
      inputTokens: usage?.prompt_tokens ?? req.inputTokens,
      outputTokens: usage?.completion_tokens ?? req.outputTokens,
      latencyMs,
    }
  } catch (error) {
    // connection errors and timeouts are counted as failed requests in the run's totals
    const e = error as { code?: unknown; message?: unknown }
    return {
      ok: false,
      status: 0,
      inputTokens: 0,
      outputTokens: 0,
      latencyMs: performance.now() - t0,
      error:
        [e.code, e.message].filter((x) => typeof x === 'string' && x !== '').join(' ') ||
        String(error),
    }
  }
}

function readUsage(text: string): { prompt_tokens?: number; completion_tokens?: number } | null {
  try {
    const j = JSON.parse(text) as {
      usage?: { prompt_tokens?: unknown; completion_tokens?: unknown }
    }
    const u = j.usage
    if (u === undefined) return null
    return {
      ...(typeof u.prompt_tokens === 'number' ? { prompt_tokens: u.prompt_tokens } : {}),
      ...(typeof u.completion_tokens === 'number'
        ? { completion_tokens: u.completion_tokens }
        : {}),
    }
  } catch {
    return null // a non-JSON 2xx body: fall back to the workload's token counts
  }
}

const WORDS = ['energy', 'grid', 'carbon', 'token', 'model', 'budget', 'watt', 'ledger']

/** About `tokens` tokens of text (one short word ≈ one token). */
function prompt(tokens: number): string {
  const words: string[] = []
  for (let i = 0; i < tokens; i += 1) words.push(WORDS[i % WORDS.length] as string)
  return words.join(' ')
}

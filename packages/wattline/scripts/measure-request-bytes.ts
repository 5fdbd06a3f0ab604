/**
 * Measures the bytes an OpenAI-shaped chat completion puts on the wire at the service boundary,
 * as the gateway counts them (request body as sent + response body as returned): JSON answers and
 * SSE streams, from a simulated model server over real HTTP on loopback (the gateway relays the
 * upstream's body unchanged, so these are the bytes its ledger records as `network_bytes`).
 * Fits bytes = overhead + per_token × tokens by least squares for each side and prints the table
 * `core/energy/request-bytes.ts` states (docs/methodology.md "Network energy in replay").
 *
 * Run: node --import tsx packages/wattline/scripts/measure-request-bytes.ts
 */
import { resolveProfile } from '@wattline/core'
import { startSimulatedBackend } from '../src/sim/simulated-backend.ts'

const MODEL = 'llama-3.1-8b-instruct'
const WORDS =
  'the quick brown fox jumps over a lazy dog while energy is measured per request'.split(' ')

function prompt(tokens: number): string {
  // ~4 bytes of English per token (the assumption under test is the overhead, not this ratio).
  const out: string[] = []
  let bytes = 0
  for (let i = 0; bytes < tokens * 4; i++) {
    const w = WORDS[i % WORDS.length] as string
    out.push(w)
    bytes += w.length + 1
  }
  return out.join(' ')
}

function fit(xs: number[], ys: number[]): { a: number; b: number } {
  const n = xs.length
  const mx = xs.reduce((s, x) => s + x, 0) / n
  const my = ys.reduce((s, y) => s + y, 0) / n
  let sxy = 0
  let sxx = 0
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    sxx += ((xs[i] as number) - mx) ** 2
  }
  const b = sxy / sxx
  return { a: my - b * mx, b }
}

const backend = await startSimulatedBackend({
  model: MODEL,
  profile: resolveProfile({ model: MODEL, hardware: 'H100-SXM' }),
  zone: 'FR',
  timeScale: 1000,
})
try {
  const reqTokens: number[] = []
  const reqBytes: number[] = []
  const jsonOut: number[] = []
  const jsonBytes: number[] = []
  const sseOut: number[] = []
  const sseBytes: number[] = []
  for (const inTok of [16, 64, 256, 1024]) {
    for (const maxTokens of [8, 32, 128, 512]) {
      for (const stream of [false, true]) {
        const body = JSON.stringify({
          model: MODEL,
          messages: [
            { role: 'system', content: 'You are a helpful assistant.' },
            { role: 'user', content: prompt(inTok) },
          ],
          max_tokens: maxTokens,
          temperature: 0,
          ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
        })
        const res = await fetch(`${backend.url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        const text = await res.text()
        const usage = stream
          ? (JSON.parse(
              text
                .split('\n')
                .filter((l) => l.startsWith('data: {') && l.includes('"usage":{'))
                .pop()
                ?.slice(6) ?? '{}',
            ) as { usage?: { prompt_tokens: number; completion_tokens: number } })
          : (JSON.parse(text) as { usage?: { prompt_tokens: number; completion_tokens: number } })
        const u = usage.usage
        if (u === undefined) throw new Error(`no usage in answer: ${text.slice(0, 200)}`)
        reqTokens.push(u.prompt_tokens)
        reqBytes.push(Buffer.byteLength(body))
        ;(stream ? sseOut : jsonOut).push(u.completion_tokens)
        ;(stream ? sseBytes : jsonBytes).push(Buffer.byteLength(text))
      }
    }
  }
  const rq = fit(reqTokens, reqBytes)
  const js = fit(jsonOut, jsonBytes)
  const ss = fit(sseOut, sseBytes)
  const f = (x: number): string => x.toFixed(1)
  console.log(`requests measured: ${reqTokens.length} (simulated server ${backend.url})`)
  console.log(`request body:  ${f(rq.a)} bytes + ${f(rq.b)} bytes/prompt token`)
  console.log(`JSON answer:   ${f(js.a)} bytes + ${f(js.b)} bytes/output token`)
  console.log(`SSE answer:    ${f(ss.a)} bytes + ${f(ss.b)} bytes/output token`)
} finally {
  await backend.close()
}

/**
 * Slowloris and connection exhaustion against a gateway in its own process (its own file-descriptor
 * limit, `ulimit -n`): thousands of clients that open a connection and trickle a request head that
 * never ends. The gateway must keep serving normal requests while they hang, close each of them
 * once `gateway.headers_timeout_ms` has passed (answering 408 in OpenAI's shape), and refuse
 * connections past `gateway.max_connections` at once instead of holding a descriptor for them.
 * Figures in docs/reliability.md ("Security").
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { atScale } from './scale.test-support.ts'

const SLOW = atScale(2_000, 500)
const NORMAL = atScale(100, 30)
const HEADERS_TIMEOUT_MS = 2_000
const CHILD_FD_LIMIT = 4_096
const MODEL = 'llama-3.1-8b-instruct'
const script = fileURLToPath(new URL('./gateway-process.test-support.ts', import.meta.url))

interface Child {
  readonly port: number
  readonly proc: ChildProcess
}

let children: ChildProcess[] = []
let sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets) s.destroy()
  sockets = []
  for (const c of children) {
    if (c.exitCode === null) {
      const exited = new Promise((r) => c.once('exit', r))
      c.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))])
      if (c.exitCode === null) c.kill('SIGKILL')
    }
  }
  children = []
})

/** Starts a gateway process under `ulimit -n fdLimit` with this `gateway:` config. */
async function startChild(gateway: Record<string, unknown>, fdLimit: number): Promise<Child> {
  const proc = spawn('sh', ['-c', `ulimit -n ${fdLimit} && exec node --import tsx "$0"`, script], {
    env: { ...process.env, WL_CHILD_GATEWAY: JSON.stringify(gateway) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(proc)
  let stderr = ''
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  const lines = createInterface({ input: proc.stdout! })
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new Error(`gateway process did not start: ${stderr}`)),
      30_000,
    )
    proc.once('exit', (code) => {
      clearTimeout(t)
      reject(new Error(`gateway process exited ${code}: ${stderr}`))
    })
    lines.once('line', (l) => {
      clearTimeout(t)
      resolve((JSON.parse(l) as { port: number }).port)
    })
  })
  return { port, proc }
}

interface SlowClient {
  readonly openedAt: number
  closedAt: number | null
  answer: string
}

/** Opens `n` connections that each send part of a request head, then one header line a second. */
async function openSlow(port: number, n: number): Promise<SlowClient[]> {
  const clients: SlowClient[] = []
  const batch = 200
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () => {
        const c: SlowClient = { openedAt: Date.now(), closedAt: null, answer: '' }
        clients.push(c)
        return new Promise<void>((resolve) => {
          const s = connect(port, '127.0.0.1', () => {
            s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
            resolve()
          })
          sockets.push(s)
          const drip = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 1_000)
          s.on('data', (d: Buffer) => (c.answer += d.toString('latin1')))
          s.on('error', () => undefined)
          s.on('close', () => {
            clearInterval(drip)
            c.closedAt = Date.now()
            resolve()
          })
        })
      }),
    )
  }
  return clients
}

/** `n` ordinary chat completions in parallel; their statuses and latencies (ms). */
async function normalRequests(port: number, n: number): Promise<{ status: number; ms: number }[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const t0 = Date.now()
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
        signal: AbortSignal.timeout(10_000),
      }).catch(() => undefined)
      await res?.text()
      return { status: res?.status ?? 0, ms: Date.now() - t0 }
    }),
  )
}

const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) return false
    await new Promise((r) => setTimeout(r, 50))
  }
  return true
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

describe('slow clients (slowloris)', () => {
  it(`${SLOW} connections trickling a request head do not stop normal requests, and are closed at the headers timeout`, async () => {
    const { port } = await startChild(
      { headers_timeout_ms: HEADERS_TIMEOUT_MS, request_timeout_ms: 4_000 },
      CHILD_FD_LIMIT,
    )
    const t0 = Date.now()
    const slow = await openSlow(port, SLOW)
    const openNow = slow.filter((c) => c.closedAt === null).length
    // normal traffic while the slow connections hang
    const normal = await normalRequests(port, NORMAL)
    expect(normal.filter((r) => r.status === 200)).toHaveLength(NORMAL)
    expect(Math.max(...normal.map((r) => r.ms))).toBeLessThan(8_000)
    // every slow connection is closed by the gateway once the headers timeout has passed
    const bound = HEADERS_TIMEOUT_MS + 1_000 + 6_000 // + node's check interval + a loaded CI box
    const allClosed = await until(
      () => slow.every((c) => c.closedAt !== null && c.closedAt - c.openedAt <= bound),
      bound + 5_000,
    )
    const lifetimes = slow.map((c) => (c.closedAt ?? Date.now()) - c.openedAt)
    const with408 = slow.filter((c) => /^HTTP\/1\.1 408 /.test(c.answer)).length
    console.info(
      `slowloris: ${SLOW} slow connections (${openNow} open at once), ${NORMAL} normal requests ` +
        `all 200 (p50 ${pct(
          normal.map((r) => r.ms),
          50,
        )} ms, max ${Math.max(...normal.map((r) => r.ms))} ms); ` +
        `slow connections closed after p50 ${pct(lifetimes, 50)} ms, max ${Math.max(...lifetimes)} ms ` +
        `(headers_timeout_ms ${HEADERS_TIMEOUT_MS}); ${with408} answered 408; total ${Date.now() - t0} ms`,
    )
    expect(openNow).toBeGreaterThan(SLOW * 0.9)
    expect(allClosed).toBe(true)
    expect(with408).toBeGreaterThan(SLOW * 0.9)
    const sample = slow.find((c) => c.answer.includes(' 408 '))?.answer ?? ''
    expect(JSON.parse(sample.slice(sample.indexOf('\r\n\r\n') + 4))).toMatchObject({
      error: { code: 'WL_REQUEST_TIMEOUT', type: 'invalid_request_error', param: null },
    })
  }, 90_000)

  it('refuses connections past max_connections at once and serves again when the slow ones time out', async () => {
    const cap = 100
    const { port } = await startChild(
      { headers_timeout_ms: HEADERS_TIMEOUT_MS, request_timeout_ms: 4_000, max_connections: cap },
      CHILD_FD_LIMIT,
    )
    const n = cap * 3
    const slow = await openSlow(port, n)
    await new Promise((r) => setTimeout(r, 500))
    const refusedAtOnce = slow.filter(
      (c) => c.closedAt !== null && c.closedAt - c.openedAt < HEADERS_TIMEOUT_MS && c.answer === '',
    ).length
    const held = slow.filter((c) => c.closedAt === null).length
    expect(held).toBeLessThanOrEqual(cap)
    expect(refusedAtOnce).toBeGreaterThanOrEqual(n - cap)
    // once the held ones reach the headers timeout, the gateway serves normal requests again
    expect(
      await until(() => slow.every((c) => c.closedAt !== null), HEADERS_TIMEOUT_MS + 10_000),
    ).toBe(true)
    const normal = await normalRequests(port, 20)
    expect(normal.filter((r) => r.status === 200)).toHaveLength(20)
    console.info(
      `max_connections ${cap}: ${n} slow connections, ${held} held, ${refusedAtOnce} closed on arrival; ` +
        `after the headers timeout 20/20 normal requests 200`,
    )
  }, 60_000)
})

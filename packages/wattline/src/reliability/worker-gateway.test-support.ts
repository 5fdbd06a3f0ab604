/**
 * @module reliability/worker-gateway.test-support
 * For the `serve --workers N` reliability tests: a simulated OpenAI-compatible model server that
 * records its peak of concurrent requests, chats on fresh connections (so the cluster primary
 * hands each to the next worker), and `wattline serve` started as its own process: its config, its
 * temporary directory, a steady load through it, its stop, and the energy its ledger recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type Database from 'better-sqlite3'

export const MODEL = 'llama-3.1-8b-instruct'
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wattline.mjs')

/**
 * A simulated OpenAI-compatible model server that answers each chat completion after `delayMs` and
 * counts the requests it holds at once, their peak, and those answered.
 */
export interface CountingUpstream {
  readonly url: string
  delayMs: number
  /** Requests held right now (count). */
  inflight: number
  /** Most requests in flight at once since start (count). */
  peak: number
  /** Requests answered (count). */
  served: number
  close(): Promise<void>
}

export async function startCountingUpstream(delayMs = 2): Promise<CountingUpstream> {
  const up: CountingUpstream = {
    url: '',
    delayMs,
    inflight: 0,
    peak: 0,
    served: 0,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model' }] }))
        return
      }
      up.inflight += 1
      up.peak = Math.max(up.peak, up.inflight)
      setTimeout(() => {
        up.inflight -= 1
        up.served += 1
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(
          JSON.stringify({
            id: 'chatcmpl-sim',
            object: 'chat.completion',
            created: 0,
            model: MODEL,
            choices: [
              { index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' },
            ],
            usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
          }),
        )
      }, up.delayMs)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  Object.assign(up, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` })
  return up
}

/** One chat completion on a fresh connection (so the primary hands it to the next worker). */
export function chat(base: string): Promise<{ status: number; id: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] })
    const req = request(
      `${base}/v1/chat/completions`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume()
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, id: String(res.headers['x-request-id']) }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

/** `n` chats, `parallel` at a time; resolves with every answer. */
export async function chats(base: string, n: number, parallel: number) {
  const out: { status: number; id: string }[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        next += 1
        out.push(await chat(base))
      }
    }),
  )
  return out
}

/**
 * Starts `wattline serve --config wattline.yaml --port 0 <extra>` in `cwd`; resolves with the child
 * and its base URL once the banner (`wattline gateway on …`) matching `banner` is printed.
 */
export function startServe(
  cwd: string,
  extra: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--config', 'wattline.yaml', '--port', '0', ...extra],
    { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const url = new Promise<string>((resolve, reject) => {
    let err = ''
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${err}`)), 40_000)
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString()
      const m = /wattline gateway on (http:\/\/[^\s/]+)\/v1/.exec(err)
      if (m !== null) {
        clearTimeout(timer)
        resolve(m[1] as string)
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited (${String(code)}): ${err}`))
    })
  })
  return { child, url }
}

/** What `writeServeConfig` writes. */
export interface ServeConfig {
  /** The top-level lines before `services:` (`gateway:`, `ledger:`, `cluster:`). */
  readonly head: readonly string[]
  readonly upstreamUrl: string
  readonly maxConcurrency: number
  /** Further lines of the backend `paris` (indented by four). */
  readonly backendExtra?: readonly string[]
}

/**
 * Writes `dir/wattline.yaml`: the `head` lines, one default service `chat`, and one backend `paris`
 * (FR, H100-SXM) at `upstreamUrl` serving `MODEL`.
 */
export function writeServeConfig(dir: string, c: ServeConfig): void {
  writeFileSync(
    join(dir, 'wattline.yaml'),
    [
      ...c.head,
      'services:',
      '  - name: chat',
      '    default: true',
      'backends:',
      '  - id: paris',
      `    url: ${c.upstreamUrl}`,
      '    zone: FR',
      '    hardware: H100-SXM',
      `    models: [${MODEL}]`,
      `    max_concurrency: ${String(c.maxConcurrency)}`,
      ...(c.backendExtra ?? []),
      '',
    ].join('\n'),
  )
}

/**
 * The simulated model servers, temporary directories and `serve` processes of one test file;
 * `cleanUp` stops and removes them.
 */
export class ServeRuns {
  readonly #upstreams: CountingUpstream[] = []
  readonly #dirs: string[] = []
  readonly #children: ChildProcess[] = []

  /** `startCountingUpstream`, answering in `delayMs`, closed by `cleanUp`. */
  async upstream(delayMs: number): Promise<CountingUpstream> {
    const up = await startCountingUpstream()
    up.delayMs = delayMs
    this.#upstreams.push(up)
    return up
  }

  /** A new temporary directory named `prefix…`. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    this.#dirs.push(dir)
    return dir
  }

  /** `startServe`, the child killed by `cleanUp` if it is still running then. */
  serve(
    cwd: string,
    extra: readonly string[],
    env?: NodeJS.ProcessEnv,
  ): { child: ChildProcess; url: Promise<string> } {
    const started = startServe(cwd, extra, env)
    this.#children.push(started.child)
    return started
  }

  /** SIGKILLs every child still running, closes every upstream and removes every directory. */
  async cleanUp(): Promise<void> {
    for (const c of this.#children) if (c.exitCode === null) c.kill('SIGKILL')
    for (const u of this.#upstreams) await u.close()
    for (const d of this.#dirs) rmSync(d, { recursive: true, force: true })
  }
}

/** Sends SIGTERM to `child`; resolves with its exit code. */
export function stopServe(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  child.kill('SIGTERM')
  return exited
}

/**
 * `clients` concurrent clients, client `i` sending its next chat to `bases[i % bases.length]` as
 * soon as the last is answered, for `loadMs`; resolves with the start (epoch ms) and every status.
 */
export async function steadyLoad(
  bases: readonly string[],
  clients: number,
  loadMs: number,
): Promise<{ fromMs: number; statuses: number[] }> {
  const fromMs = Date.now()
  const until = fromMs + loadMs
  const statuses: number[] = []
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      const base = bases[i % bases.length] as string
      while (Date.now() < until) statuses.push((await chat(base)).status)
    }),
  )
  return { fromMs, statuses }
}

/** A ledger's requests and energy in a window, J. */
export interface WindowEnergy {
  readonly requests: number
  readonly activeJ: number
  readonly idleJ: number
}

/** The energy of one run of a steady load, J: `totalJ` is `activeJ + idleJ`. */
export interface RunEnergy extends WindowEnergy {
  readonly totalJ: number
}

/**
 * From the ledger `db`: the count and energy of the requests of `backend` (of every backend when
 * undefined), and its idle energy clipped to `[fromMs, toMs]`. Idle power is constant (modelled):
 * a row's energy is spread evenly over its interval.
 */
export function windowEnergy(
  db: Database.Database,
  fromMs: number,
  toMs: number,
  backend?: string,
): WindowEnergy {
  const where = backend === undefined ? '' : ' WHERE backend = ?'
  const args = backend === undefined ? [] : [backend]
  const req = db
    .prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(energy_j), 0) AS j FROM requests${where}`)
    .get(...args) as { n: number; j: number }
  const rows = db
    .prepare(`SELECT from_ms, to_ms, energy_j FROM idle_energy${where}`)
    .all(...args) as { from_ms: number; to_ms: number; energy_j: number }[]
  let idleJ = 0
  for (const r of rows) {
    const span = Number(r.to_ms) - Number(r.from_ms)
    const inside = Math.min(Number(r.to_ms), toMs) - Math.max(Number(r.from_ms), fromMs)
    if (span > 0 && inside > 0) idleJ += (r.energy_j * inside) / span
  }
  return { requests: req.n, activeJ: req.j, idleJ }
}

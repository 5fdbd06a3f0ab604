/**
 * @module reliability/worker-gateway.test-support
 * For the `serve --workers N` reliability tests: a simulated OpenAI-compatible model server that
 * records its peak of concurrent requests, chats on fresh connections (so the cluster primary
 * hands each to the next worker), and `wattline serve` started as its own process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const MODEL = 'llama-3.1-8b-instruct'
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wattline.mjs')

/** A simulated OpenAI-compatible model server that records its peak of concurrent requests. */
export interface CountingUpstream {
  readonly url: string
  delayMs: number
  inflight: number
  peak: number
  close(): Promise<void>
}

export async function startCountingUpstream(): Promise<CountingUpstream> {
  const up: CountingUpstream = {
    url: '',
    delayMs: 2,
    inflight: 0,
    peak: 0,
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

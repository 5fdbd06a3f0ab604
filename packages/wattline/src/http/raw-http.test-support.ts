/**
 * @module http/raw-http.test-support
 * Sends bytes exactly as given on a TCP socket (like `curl --path-as-is`: no URL normalisation, no
 * header checks) and reads the whole answer of a `Connection: close` request. Imported by tests only.
 */
import { connect } from 'node:net'

export interface RawAnswer {
  /** HTTP status, or 0 when the connection closed without an answer. */
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/** Writes `request` (a full HTTP/1.1 request) to host:port and parses the answer. */
export function rawRequest(
  port: number,
  request: string | Buffer,
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => socket.end(request))
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      reject(new Error(`no answer in ${timeoutMs} ms to ${String(request).slice(0, 80)}`))
    })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', () => undefined)
    socket.on('close', () => resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'))))
  })
}

/** A GET (or `method`) of `target` exactly as written, with optional extra header lines. */
export function rawGet(
  port: number,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<RawAnswer> {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`)
  return rawRequest(
    port,
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}Connection: close\r\n\r\n`,
  )
}

function parseAnswer(text: string): RawAnswer {
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return { status: 0, headers: {}, body: text }
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const i = l.indexOf(':')
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
  }
  let body = text.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body)
  return { status, headers, body: Buffer.from(body, 'latin1').toString('utf8') }
}

function unchunk(s: string): string {
  let out = ''
  let at = 0
  for (;;) {
    const eol = s.indexOf('\r\n', at)
    if (eol < 0) return out
    const size = parseInt(s.slice(at, eol), 16)
    if (!(size > 0)) return out
    out += s.slice(eol + 2, eol + 2 + size)
    at = eol + 2 + size + 2
  }
}

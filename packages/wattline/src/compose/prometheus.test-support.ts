/**
 * @module compose/prometheus.test-support
 * Test support: a real Prometheus server (the binary named by `PROMETHEUS_BIN`) on 127.0.0.1 with a
 * generated config and a throwaway TSDB, a small client for its HTTP API (PromQL always sent
 * URL-encoded), a deadline-bounded poller, a Prometheus text-format reader for the gateway's
 * `/metrics`, and readers for the PromQL a document carries (```promql blocks). Imported by tests only.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

/** A port on 127.0.0.1 that was free a moment ago (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolvePort(port))
    })
  })
}

/**
 * Calls `probe` every `intervalMs` until it returns a value other than `undefined`, or throws once
 * `timeoutMs` have passed, with `what` and the last probe error (or `describe()`) in the message.
 */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    if (Date.now() >= deadline) {
      const cause = last instanceof Error ? `; last error: ${last.message}` : ''
      const more = options.describe === undefined ? '' : `\n${options.describe()}`
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${cause}${more}`)
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100))
  }
}

/** One sample of an instant-vector result: labels and the value (NaN and ±Inf as numbers). */
export interface PromSample {
  readonly metric: Record<string, string>
  /** Evaluation timestamp, seconds since the epoch. */
  readonly at: number
  readonly value: number
}

/** What `/api/v1/rules` says about one rule. */
export interface PromRuleState {
  readonly name: string
  readonly type: 'recording' | 'alerting'
  readonly health: string
  readonly lastError?: string
  readonly query: string
}

/** One alert of `/api/v1/alerts` (pending or firing). */
export interface PromAlert {
  readonly labels: Record<string, string>
  readonly state: 'pending' | 'firing'
  readonly value: string
}

export interface PrometheusServer {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string
  /** Evaluates an instant query (at `time`, seconds, when given); throws on a PromQL error. */
  query(expr: string, time?: number): Promise<PromSample[]>
  /** Every rule of every loaded group, with the groups' last evaluation times (ms since epoch). */
  rules(): Promise<{ rules: PromRuleState[]; lastEvaluationsMs: number[] }>
  /** Pending and firing alerts. */
  alerts(): Promise<PromAlert[]>
  /** What the server wrote on stderr (last 8 KiB), for failure messages. */
  log(): string
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>
}

export interface StartPrometheusOptions {
  /** The `prometheus` binary. */
  readonly bin: string
  /** A directory of the test's own: the config and the TSDB go under it. */
  readonly dir: string
  /** The text of `prometheus.yml`. */
  readonly config: string
  /** Longest wait for `/-/ready`, ms. */
  readonly readyTimeoutMs: number
}

/**
 * Starts Prometheus on 127.0.0.1 at a free port with `config` and a TSDB in `dir`, and waits until
 * it answers `/-/ready`. A port taken between the probe and the bind is retried (3 attempts).
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const configPath = join(options.dir, 'prometheus.yml')
  writeFileSync(configPath, options.config)
  let lastFailure = ''
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const port = await freePort()
    const tsdb = join(options.dir, `tsdb-${attempt}`)
    mkdirSync(tsdb, { recursive: true })
    const child = spawn(
      options.bin,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${tsdb}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    const server = prometheusServer(child, `http://127.0.0.1:${port}`)
    const started = await waitReady(server, child, options.readyTimeoutMs)
    if (started === 'ready') return server
    await server.stop()
    lastFailure = `${started}\n${server.log()}`
    if (!/address already in use/.test(server.log())) break
  }
  throw new Error(`Prometheus did not start: ${lastFailure}`)
}

async function waitReady(
  server: PrometheusServer,
  child: ChildProcess,
  timeoutMs: number,
): Promise<'ready' | string> {
  let exited: string | undefined
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`))
  try {
    await pollUntil(
      `${server.url}/-/ready`,
      async () => {
        if (exited !== undefined) throw new Error(exited)
        const res = await fetch(`${server.url}/-/ready`, { signal: AbortSignal.timeout(1000) })
        await res.arrayBuffer()
        return res.status === 200 ? true : undefined
      },
      { timeoutMs, intervalMs: 50 },
    )
    return 'ready'
  } catch (error) {
    return exited ?? (error as Error).message
  }
}

function prometheusServer(child: ChildProcess, url: string): PrometheusServer {
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8192)
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  // A crashed test worker must not leave Prometheus running.
  const killOnExit = (): void => void child.kill('SIGKILL')
  process.once('exit', killOnExit)

  async function api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const qs = new URLSearchParams(params).toString()
    const res = await fetch(`${url}${path}${qs === '' ? '' : `?${qs}`}`, {
      signal: AbortSignal.timeout(5000),
    })
    const body = (await res.json()) as {
      status: string
      data?: T
      errorType?: string
      error?: string
    }
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`)
    }
    return body.data
  }

  return {
    url,
    async query(expr, time) {
      const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', {
        query: expr,
        ...(time === undefined ? {} : { time: time.toFixed(3) }),
      })
      if (data.resultType === 'scalar') {
        const [at, v] = data.result as [number, string]
        return [{ metric: {}, at, value: Number(v) }]
      }
      if (data.resultType !== 'vector') {
        throw new Error(`${expr}: expected a vector, got a ${data.resultType}`)
      }
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map(
        (s) => ({ metric: s.metric, at: s.value[0], value: Number(s.value[1]) }),
      )
    },
    async rules() {
      const data = await api<{
        groups: {
          lastEvaluation: string
          rules: {
            name: string
            type: 'recording' | 'alerting'
            health: string
            lastError?: string
            query: string
          }[]
        }[]
      }>('/api/v1/rules')
      return {
        rules: data.groups.flatMap((g) =>
          g.rules.map((r) => ({
            name: r.name,
            type: r.type,
            health: r.health,
            query: r.query,
            ...(r.lastError === undefined || r.lastError === '' ? {} : { lastError: r.lastError }),
          })),
        ),
        lastEvaluationsMs: data.groups.map((g) => Date.parse(g.lastEvaluation)),
      }
    },
    async alerts() {
      return (await api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts
    },
    log: () => stderr,
    async stop() {
      process.removeListener('exit', killOnExit)
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** One sample of a Prometheus text exposition. */
export interface ExposedSample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/** Reads the samples of a Prometheus text exposition (comments and blank lines skipped). */
export function parseExposition(text: string): ExposedSample[] {
  const samples: ExposedSample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) =>
        c === 'n' ? '\n' : c,
      )
    }
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) })
  }
  return samples
}

/** Sum of the samples named `name` whose labels include `match`. */
export function sumOf(
  samples: readonly ExposedSample[],
  name: string,
  match: Record<string, string> = {},
): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)
}

/** One PromQL query of a document, with the comment line that introduces it. */
export interface DocQuery {
  /** The `# …` line above the query, without `# `. */
  readonly title: string
  /** The query, its lines joined with newlines. */
  readonly expr: string
  /** 1-based line of the query's first line in the document. */
  readonly line: number
}

/**
 * The queries of every ```promql block of a Markdown document. In a block, a `# comment` line
 * starts a new query and titles it; the lines up to the next comment or the block's end are the
 * query. Throws when a block holds a query with no title, so that the document stays readable.
 */
export function promqlQueries(markdown: string, file: string): DocQuery[] {
  const queries: DocQuery[] = []
  const lines = markdown.split('\n')
  let inBlock = false
  let current: { title: string; lines: string[]; line: number } | undefined
  const finish = (): void => {
    if (current !== undefined && current.lines.length > 0) {
      queries.push({ title: current.title, expr: current.lines.join('\n'), line: current.line })
    }
    current = undefined
  }
  for (const [i, raw] of lines.entries()) {
    const line = raw.trimEnd()
    if (!inBlock) {
      if (line.trim() === '```promql') inBlock = true
      continue
    }
    if (line.trim() === '```') {
      finish()
      inBlock = false
      continue
    }
    if (line.trim() === '') continue
    if (line.trimStart().startsWith('#')) {
      finish()
      current = { title: line.trimStart().replace(/^#\s*/, ''), lines: [], line: i + 2 }
      continue
    }
    if (current === undefined) {
      throw new Error(`${file}:${i + 1}: a PromQL query with no '# title' line above it`)
    }
    current.lines.push(line)
  }
  if (inBlock) throw new Error(`${file}: unterminated promql block`)
  return queries
}

/** The text of every fenced block of a Markdown document whose info string is `lang`. */
export function fencedBlocks(markdown: string, lang: string): string[] {
  const blocks: string[] = []
  let current: string[] | undefined
  for (const line of markdown.split('\n')) {
    if (current === undefined) {
      if (line.trim() === `\`\`\`${lang}`) current = []
    } else if (line.trim() === '```') {
      blocks.push(current.join('\n'))
      current = undefined
    } else {
      current.push(line)
    }
  }
  return blocks
}

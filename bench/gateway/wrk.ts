/**
 * Closed-loop throughput runs: wrk (Debian's 4.1.0) when present, else autocannon (npm). Both keep
 * `connections` requests in flight for `durationS` and report requests/s and latency percentiles.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hasCommand, pinned, runToEnd } from './processes.ts'

export interface LoadResult {
  readonly tool: 'wrk' | 'autocannon'
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  /** Non-2xx responses plus socket errors. */
  readonly errors: number
}

export interface LoadOptions {
  readonly url: string
  readonly body: string
  /**
   * Make every request's body unique: the first occurrence of this text in `body` is followed by
   * a request counter (a prompt never sent before). wrk only (a Lua `request` function).
   */
  readonly uniqueAfter?: string
  readonly connections: number
  readonly durationS: number
  readonly cpus?: string
  readonly dir: string
}

export const HAS_WRK: boolean = hasCommand('wrk')

/** Parses a wrk duration (`812.00us`, `1.55ms`, `2.01s`, `1.2m`) to milliseconds. */
export function parseWrkDuration(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim())
  if (!m) throw new Error(`unexpected wrk duration ${JSON.stringify(text)}`)
  const v = Number(m[1])
  const unit = m[2]
  return unit === 'us' ? v / 1000 : unit === 'ms' ? v : unit === 's' ? v * 1000 : v * 60_000
}

/** Parses wrk's `--latency` report. */
export function parseWrk(out: string): Omit<LoadResult, 'tool'> {
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out)
    if (!m?.[1]) throw new Error(`wrk output has no ${p}% line:\n${out}`)
    return parseWrkDuration(m[1])
  }
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out)
  const total = /^\s*(\d+) requests in/m.exec(out)
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors =
    Number(non2xx?.[1] ?? 0) + (sock ? sock.slice(1).reduce((a, x) => a + Number(x), 0) : 0)
  return {
    rps: Number(rps?.[1] ?? Number.NaN),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    requests: Number(total?.[1] ?? 0),
    errors,
  }
}

/** Runs one closed-loop load. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (HAS_WRK) {
    const script = join(o.dir, 'post.lua')
    const at = o.uniqueAfter === undefined ? -1 : o.body.indexOf(o.uniqueAfter)
    const cut = at < 0 ? -1 : at + (o.uniqueAfter ?? '').length
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = ${JSON.stringify(o.body)}\nwrk.headers["Content-Type"] = "application/json"\n` +
        (cut < 0
          ? ''
          : `local n = 0\nrequest = function()\n  n = n + 1\n  return wrk.format(nil, nil, nil, ${JSON.stringify(o.body.slice(0, cut))} .. n .. ${JSON.stringify(o.body.slice(cut))})\nend\n`),
    )
    const out = await runToEnd(
      pinned(o.cpus, [
        'wrk',
        '-t1',
        `-c${String(o.connections)}`,
        `-d${String(o.durationS)}s`,
        '--timeout',
        '5s',
        '--latency',
        '-s',
        script,
        o.url,
      ]),
      (o.durationS + 30) * 1000,
    )
    return { tool: 'wrk', ...parseWrk(out) }
  }
  const bin = fileURLToPath(new URL('../../node_modules/autocannon/autocannon.js', import.meta.url))
  const out = await runToEnd(
    pinned(o.cpus, [
      process.execPath,
      bin,
      '--json',
      '-c',
      String(o.connections),
      '-d',
      String(o.durationS),
      '-m',
      'POST',
      '-H',
      'content-type=application/json',
      '-b',
      o.body,
      o.url,
    ]),
    (o.durationS + 30) * 1000,
  )
  const r = JSON.parse(out) as {
    requests: { average: number; total: number }
    latency: { p50: number; p99: number }
    non2xx: number
    errors: number
  }
  return {
    tool: 'autocannon',
    rps: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    errors: r.non2xx + r.errors,
  }
}

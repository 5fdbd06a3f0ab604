/**
 * `npm run bench:gateway`: the proxy overhead of the Wattline gateway, measured side by side in one
 * run on loopback against the same fast stub upstream (bench/gateway/fast-upstream.ts):
 *
 *   direct   load generator → stub
 *   floor    load generator → bare fastify + undici (bench/gateway/bare-proxy.ts: the gateway's own
 *            fastify and undici, JSON body parsed and forwarded, SSE relayed; nothing else) → stub
 *   wattline load generator → `wattline serve` (carbon-aware routing, modelled meter) → stub
 *   nginx    load generator → nginx (Debian, generated config, 1 worker) → stub
 *
 * for non-streaming and streaming (SSE) chat completions. Two loads per target:
 *   1. throughput: closed loop, wrk (or autocannon if wrk is missing), `--connections` in flight;
 *   2. fixed rate: an open-loop generator at `--rate` req/s (bench/gateway/fixed-rate.ts); the added
 *      latency is the proxy's p50/p99 minus direct's p50/p99 at that same rate.
 * The proxy under test runs on CPU 0, the stub and the load generators on CPU 1 (taskset), as far as
 * the machine has CPUs. Targets (issue 3): added p50 ≤ 0.5 ms and p99 ≤ 2 ms at 1,000 req/s;
 * throughput ≥ 0.6 × nginx's. Issue 13: Wattline's CPU per request ≤ 1.3 × the bare Node floor's
 * (`floor`, pinned and loaded exactly as Wattline), printed as ratios for the process and the main
 * thread.
 *
 * The proxy's CPU time (user + system, /proc) per request of the closed-loop load is printed too:
 * unlike throughput it barely moves when other work shares the machine. It is given for the whole
 * process and for its main thread alone (the event loop that serves requests; Wattline's ledger
 * writer thread and Node's helper threads are in the first figure only).
 *
 * Options: --duration-s N (per load, default 8), --rate R (default 1000), --connections C (default 32),
 * --targets direct,floor,wattline,nginx (and `cache`, not by default: Wattline with its response
 * cache on at 0 % hits against the same gateway without it, issue 11; see `measureCache`),
 * --profile (run Wattline, and the floor, under `node --cpu-prof` and print their hot spots; a
 * profile spans the whole run of its target, warm-ups and the mostly idle fixed-rate loads
 * included, so its `(idle)` share is not the idle time under the closed-loop load), --json FILE
 * (write the results).
 *
 * `--workers N` (N ≥ 2, or `auto` = one per CPU; issue 13) adds `wattline×N` (`wattline serve
 * --workers N`) beside the one-process `wattline`, and `nginx×N` (a master and N workers) beside the
 * one-worker `nginx`, in the same run, and prints the throughput ratios wattline×N / wattline
 * (target ≥ 0.8 N) and wattline×N / nginx×N (target ≥ 0.6). Nothing is pinned then (N workers need
 * the cores), so the load generator and the stub share the cores with the proxy under test, for
 * every target alike; CPU per request is summed over the proxy's whole process tree (primary and
 * workers, nginx master and workers).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { hotAreas, hotSpots } from './gateway/cpu-profile.ts'
import { startNginx } from './gateway/nginx.ts'
import {
  freePort,
  hasCommand,
  pinned,
  runToEnd,
  start,
  waitReady,
  type Started,
} from './gateway/processes.ts'
import { HAS_WRK, runLoad, type LoadResult } from './gateway/wrk.ts'
import { benchGatewayConfig, MODEL, serveArgs, startFastUpstream } from './gateway/bench-setup.ts'
import { median } from './median.ts'
import { processCpuMs, statFields } from './proc-cpu.ts'
import type { FixedRateResult } from './gateway/fixed-rate.ts'

const { values: args } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '8' },
    rate: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '32' },
    targets: { type: 'string', default: 'direct,floor,wattline,nginx' },
    profile: { type: 'boolean', default: false },
    json: { type: 'string' },
    workers: { type: 'string' },
  },
})
const workers =
  args.workers === undefined
    ? 1
    : args.workers === 'auto'
      ? availableParallelism()
      : Number(args.workers)
if (!Number.isInteger(workers) || workers < 1 || (args.workers !== undefined && workers < 2)) {
  console.error('bench:gateway: --workers must be an integer ≥ 2, or auto (one per CPU)')
  process.exit(2)
}
/** `--workers N`: the N-worker targets run too, and nothing is pinned. */
const workersMode = workers > 1
const durationS = Number(args['duration-s'])
const rate = Number(args.rate)
const connections = Number(args.connections)
const wanted = new Set(args.targets.split(','))
for (const [name, v] of [
  ['--duration-s', durationS],
  ['--rate', rate],
  ['--connections', connections],
] as const) {
  if (!(v > 0) || !Number.isFinite(v)) {
    console.error(`bench:gateway: ${name} must be a positive number`)
    process.exit(2)
  }
}

const REPO = new URL('..', import.meta.url).pathname
const BODIES = {
  'non-stream': JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: 'Say hello' }],
    max_tokens: 16,
  }),
  stream: JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: 'Say hello' }],
    max_tokens: 16,
    stream: true,
  }),
} as const
type Mode = keyof typeof BODIES

const twoCpus = availableParallelism() >= 2
const PROXY_CPU = twoCpus && !workersMode ? '0' : undefined
const LOAD_CPU = twoCpus && !workersMode ? '1' : undefined
const dir = mkdtempSync(join(tmpdir(), 'wattline-bench-gateway-'))
const running: Started[] = []
const notes: string[] = []

async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.stop()))
}
/** Rounds of the `cache` target (each loads both gateways once, in alternating order). */
const CACHE_ROUNDS = 4
// Bound the whole run: every load is bounded too, this is the backstop.
const budgetMs =
  (durationS * 2 + 10) * 2 * (wanted.size + (workersMode ? 2 : 0)) * 1000 +
  (wanted.has('cache') ? 2 * (6 + 3 * CACHE_ROUNDS * durationS + 30) * 1000 : 0) +
  120_000
const watchdog = setTimeout(() => {
  console.error(`bench:gateway: exceeded ${String(budgetMs)} ms, stopping`)
  void stopAll().then(() => process.exit(3))
}, budgetMs)
watchdog.unref()

function node(...argv: string[]): string[] {
  return [process.execPath, '--import', 'tsx', ...argv]
}

async function startUpstream(): Promise<number> {
  const { port, started } = await startFastUpstream(LOAD_CPU)
  running.push(started)
  return port
}

async function startWattline(
  upstreamPort: number,
  count = 1,
  options: { readonly name?: string; readonly cache?: boolean } = {},
): Promise<{ port: number; pid: number | undefined } | undefined> {
  const port = await freePort()
  const name = options.name ?? 'wattline'
  const config = join(dir, `${name}.yaml`)
  writeFileSync(
    config,
    benchGatewayConfig(upstreamPort, join(dir, `${name}.db`), { cache: options.cache === true }),
  )
  const flags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof')}`] : []
  const argv = [
    process.execPath,
    ...flags,
    '--import',
    'tsx',
    join(REPO, 'packages/wattline/src/cli/main.ts'),
    ...serveArgs(config, port),
    ...(count > 1 ? ['--workers', String(count)] : []),
  ]
  const s = start(pinned(PROXY_CPU, argv))
  running.push(s)
  try {
    await waitReady(`http://127.0.0.1:${String(port)}/readyz`, 60_000, s)
  } catch (e) {
    notes.push(
      `wattline: could not start \`wattline serve\`: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e)}`,
    )
    await s.stop()
    return undefined
  }
  return { port, pid: s.child.pid }
}

/** The bare fastify + undici proxy (bench/gateway/bare-proxy.ts), pinned as Wattline is. */
async function startFloor(
  upstreamPort: number,
): Promise<{ port: number; pid: number | undefined } | undefined> {
  const port = await freePort()
  const flags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof-floor')}`] : []
  const s = start(
    pinned(PROXY_CPU, [
      process.execPath,
      ...flags,
      '--import',
      'tsx',
      join(REPO, 'bench/gateway/bare-proxy.ts'),
      String(port),
      `http://127.0.0.1:${String(upstreamPort)}/v1`,
    ]),
  )
  running.push(s)
  try {
    await waitReady(`http://127.0.0.1:${String(port)}/healthz`, 30_000, s)
  } catch (e) {
    notes.push(
      `floor: could not start bench/gateway/bare-proxy.ts: ${e instanceof Error ? e.message.split('\n').slice(0, 6).join(' | ') : String(e)}`,
    )
    await s.stop()
    return undefined
  }
  return { port, pid: s.child.pid }
}

async function fixedRate(url: string, body: string): Promise<FixedRateResult> {
  const out = await runToEnd(
    pinned(
      LOAD_CPU,
      node(
        join(REPO, 'bench/gateway/fixed-rate.ts'),
        JSON.stringify({ url, body, rate, durationS, connections: 64 }),
      ),
    ),
    (durationS + 60) * 1000,
  )
  const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>
  // JSON has no NaN: quantiles of an empty sample come back as null.
  const num = (k: string): number => (typeof r[k] === 'number' ? r[k] : Number.NaN)
  return {
    ...(r as unknown as FixedRateResult),
    p50Ms: num('p50Ms'),
    p90Ms: num('p90Ms'),
    p99Ms: num('p99Ms'),
    maxMs: num('maxMs'),
    rate: num('rate'),
  }
}

interface Row {
  readonly target: string
  readonly mode: Mode
  readonly load: LoadResult
  readonly fixed: FixedRateResult
  /** CPU time (user + system) of the proxy process per request of the closed-loop load, µs. */
  readonly cpuUsPerRequest: number
  /**
   * The same for the process's main thread alone, µs: Wattline's event loop, without the ledger
   * writer thread (and libuv/V8 helper threads). Equal to the process figure for nginx's worker.
   */
  readonly mainCpuUsPerRequest: number
}

/**
 * CPU time (user + system) of a process and all its descendants so far, ms (Linux /proc; NaN
 * elsewhere): `wattline serve --workers N`'s primary and workers, nginx's master and workers.
 */
function treeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN
  const parent = new Map<number, number>()
  try {
    for (const e of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(e)) continue
      try {
        parent.set(Number(e), Number(statFields(`/proc/${e}/stat`)[1]))
      } catch {
        // the process ended meanwhile
      }
    }
  } catch {
    return Number.NaN
  }
  const tree = new Set([pid])
  for (let grew = true; grew;) {
    grew = false
    for (const [p, pp] of parent) {
      if (!tree.has(p) && tree.has(pp)) {
        tree.add(p)
        grew = true
      }
    }
  }
  let sum = 0
  for (const p of tree) {
    const ms = processCpuMs(p)
    if (Number.isFinite(ms)) sum += ms
  }
  return sum
}

async function measure(target: string, base: string, pid?: number): Promise<Row[]> {
  const rows: Row[] = []
  for (const mode of Object.keys(BODIES) as Mode[]) {
    const url = `${base}/v1/chat/completions`
    const body = BODIES[mode]
    // Warm-up: JIT, connection pools, caches.
    await runLoad({
      url,
      body,
      connections,
      durationS: 2,
      dir,
      ...(LOAD_CPU ? { cpus: LOAD_CPU } : {}),
    })
    const cpuBefore = treeCpuMs(pid)
    const mainBefore = processCpuMs(pid, true)
    const load = await runLoad({
      url,
      body,
      connections,
      durationS,
      dir,
      ...(LOAD_CPU ? { cpus: LOAD_CPU } : {}),
    })
    const cpuUsPerRequest = ((treeCpuMs(pid) - cpuBefore) * 1000) / load.requests
    // several processes: no one main thread serves the requests
    const mainCpuUsPerRequest = target.includes('×')
      ? Number.NaN
      : ((processCpuMs(pid, true) - mainBefore) * 1000) / load.requests
    const fixed = await fixedRate(url, body)
    rows.push({ target, mode, load, fixed, cpuUsPerRequest, mainCpuUsPerRequest })
    console.error(
      `  ${target.padEnd(8)} ${mode.padEnd(10)} ${load.rps.toFixed(0).padStart(6)} req/s (p50 ${load.p50Ms.toFixed(2)} ms, proxy CPU ${fmt(cpuUsPerRequest, 0)} µs/req, main thread ${fmt(mainCpuUsPerRequest, 0)}) · at ${String(rate)} req/s: p50 ${fixed.p50Ms.toFixed(3)} ms p99 ${fixed.p99Ms.toFixed(3)} ms (${String(fixed.errors)} errors; statuses ${JSON.stringify(fixed.statuses)})`,
    )
  }
  return rows
}

const fmt = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : '–')

/**
 * The `cache` target (issue 11: with the cache on and 0 % hits, CPU per request rises by ≤ 10 %):
 * three `wattline serve` with this bench's config: `off`, `on` (the service's response cache on,
 * memory store) and `control` (`off` again: an A/A pair, whose ratio is what two processes differ
 * by anyway). All pinned to CPU 0 and loaded in turn, the order rotating each round,
 * `CACHE_ROUNDS` rounds of the closed-loop load per mode. Every request is a `temperature: 0` chat
 * completion whose prompt was never sent before (wrk numbers them), so with the cache on each one
 * is keyed, looked up, missed, sent upstream and stored; the gateway's own
 * `wattline_cache_requests_total` confirms 0 hits. bench:cache measures the same in one process.
 */
async function measureCache(upstreamPort: number): Promise<string[]> {
  const off = await startWattline(upstreamPort, 1, { name: 'cache-off' })
  const on = await startWattline(upstreamPort, 1, { name: 'cache-on', cache: true })
  const control = await startWattline(upstreamPort, 1, { name: 'cache-control' })
  if (off === undefined || on === undefined || control === undefined)
    return ['cache: could not start the three gateways']
  const gateways = { off, on, control }
  const lines: string[] = []
  let run = 0
  type Cpu = { readonly process: number; readonly main: number }
  const loadOnce = async (
    g: { port: number; pid: number | undefined },
    mode: Mode,
    seconds: number,
  ): Promise<Cpu> => {
    const body = JSON.stringify({
      ...(JSON.parse(BODIES[mode]) as Record<string, unknown>),
      messages: [{ role: 'user', content: `Say hello, run ${String(++run)}, prompt ` }],
      temperature: 0,
    })
    const cpu0 = processCpuMs(g.pid)
    const main0 = processCpuMs(g.pid, true)
    const load = await runLoad({
      url: `http://127.0.0.1:${String(g.port)}/v1/chat/completions`,
      body,
      uniqueAfter: 'prompt ',
      connections,
      durationS: seconds,
      dir,
      ...(LOAD_CPU ? { cpus: LOAD_CPU } : {}),
    })
    return {
      process: ((processCpuMs(g.pid) - cpu0) * 1000) / load.requests,
      main: ((processCpuMs(g.pid, true) - main0) * 1000) / load.requests,
    }
  }
  const names = ['off', 'on', 'control'] as const
  for (const mode of Object.keys(BODIES) as Mode[]) {
    for (const n of names) await loadOnce(gateways[n], mode, 2)
    const cpu: Record<(typeof names)[number], Cpu[]> = { off: [], on: [], control: [] }
    for (let r = 0; r < CACHE_ROUNDS; r++) {
      for (let k = 0; k < names.length; k++) {
        const n = names[(k + r) % names.length] as (typeof names)[number]
        cpu[n].push(await loadOnce(gateways[n], mode, durationS))
      }
    }
    /** Median over the rounds of `of`'s CPU per request over the round's `off` (and control). */
    const ratio = (of: 'on' | 'control', k: keyof Cpu, withControl: boolean): number =>
      median(
        cpu[of].map((x, i) => {
          const o = (cpu.off[i] as Cpu)[k]
          const base = withControl ? (o + (cpu.control[i] as Cpu)[k]) / 2 : o
          return x[k] / base
        }),
      )
    const med = (n: (typeof names)[number], k: keyof Cpu): string =>
      fmt(median(cpu[n].map((x) => x[k])), 0)
    const met = (x: number): string => (x <= 1.1 ? 'met' : 'MISSED')
    const p = ratio('on', 'process', true)
    const m = ratio('on', 'main', true)
    lines.push(
      `${mode}: cache on at 0 % hits, CPU per request over the mean of off and control (median of ${String(CACHE_ROUNDS)} rounds) = ${fmt(p, 3)} process (on ${med('on', 'process')}, off ${med('off', 'process')}, control ${med('control', 'process')} µs; target ≤ 1.10: ${met(p)}), ${fmt(m, 3)} main thread (on ${med('on', 'main')}, off ${med('off', 'main')}, control ${med('control', 'main')} µs; ${met(m)}); A/A control / off = ${fmt(ratio('control', 'process', false), 3)} process, ${fmt(ratio('control', 'main', false), 3)} main thread (the noise between two processes)`,
    )
  }
  const metrics = await fetch(`http://127.0.0.1:${String(on.port)}/metrics`).then((r) => r.text())
  const count = (result: string): number =>
    Number(
      new RegExp(
        `^wattline_cache_requests_total\\{[^}]*result="${result}"[^}]*\\} (\\S+)$`,
        'm',
      ).exec(metrics)?.[1] ?? 0, // a series never counted is not exported
    )
  lines.push(
    `cache: the cached gateway counted ${fmt(count('hit'), 0)} hits, ${fmt(count('miss'), 0)} misses, ${fmt(count('bypass'), 0)} bypasses`,
  )
  for (let i = 0; i < 3; i++) await running.pop()?.stop()
  return lines
}

async function main(): Promise<number> {
  console.error(
    `bench:gateway: node ${process.version}, ${String(availableParallelism())} CPUs, temp ${dir}`,
  )
  if (!HAS_WRK) notes.push('wrk not found on PATH: closed-loop loads use autocannon (npm) instead')
  if (!hasCommand('taskset')) notes.push('taskset not found: processes are not pinned')
  if (!twoCpus) notes.push('fewer than 2 CPUs: processes are not pinned')
  const hasNginx = hasCommand('nginx')
  if (!hasNginx && wanted.has('nginx')) notes.push('nginx not found on PATH: no reference proxy')

  const loadBefore = loadavg()[0] ?? 0
  const upstreamPort = await startUpstream()
  const rows: Row[] = []
  if (wanted.has('direct'))
    rows.push(...(await measure('direct', `http://127.0.0.1:${String(upstreamPort)}`)))
  if (wanted.has('floor')) {
    const f = await startFloor(upstreamPort)
    if (f) {
      rows.push(...(await measure('floor', `http://127.0.0.1:${String(f.port)}`, f.pid)))
      await running.pop()?.stop()
    }
  }
  if (wanted.has('wattline')) {
    const w = await startWattline(upstreamPort)
    if (w) {
      rows.push(...(await measure('wattline', `http://127.0.0.1:${String(w.port)}`, w.pid)))
      const gw = running.pop()
      await gw?.stop()
    }
    if (workersMode) {
      const wn = await startWattline(upstreamPort, workers)
      if (wn) {
        rows.push(
          ...(await measure(
            `wattline×${String(workers)}`,
            `http://127.0.0.1:${String(wn.port)}`,
            wn.pid,
          )),
        )
        const gw = running.pop()
        await gw?.stop()
      }
    }
  }
  const cacheLines = wanted.has('cache') ? await measureCache(upstreamPort) : []
  if (wanted.has('nginx') && hasNginx) {
    const port = await freePort()
    const n = startNginx(join(dir, 'nginx'), port, upstreamPort, PROXY_CPU)
    running.push(n)
    await waitReady(`http://127.0.0.1:${String(port)}/healthz`, 20_000, n)
    rows.push(...(await measure('nginx', `http://127.0.0.1:${String(port)}`, n.child.pid)))
    if (workersMode) {
      await running.pop()?.stop()
      const portN = await freePort()
      const nn = startNginx(join(dir, 'nginx-n'), portN, upstreamPort, PROXY_CPU, workers)
      running.push(nn)
      await waitReady(`http://127.0.0.1:${String(portN)}/healthz`, 20_000, nn)
      rows.push(
        ...(await measure(
          `nginx×${String(workers)}`,
          `http://127.0.0.1:${String(portN)}`,
          nn.child.pid,
        )),
      )
    }
  }
  await stopAll()
  const loadAfter = loadavg()[0] ?? 0
  if (workersMode) {
    notes.push(
      `1-min load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${String(availableParallelism())} CPUs; nothing pinned: the load generator and the stub share the cores with every proxy`,
    )
  }
  if (Math.max(loadBefore, loadAfter) > availableParallelism() * 0.75) {
    notes.push(
      `the machine was busy with other work (1-min load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${String(availableParallelism())} CPUs): absolute figures and tails are inflated; rerun on a quiet machine`,
    )
  }

  const find = (t: string, m: Mode): Row | undefined =>
    rows.find((r) => r.target === t && r.mode === m)
  const lines: string[] = []
  lines.push(
    `| target | mode | throughput (req/s, ${HAS_WRK ? 'wrk' : 'autocannon'} c=${String(connections)}) | proxy CPU per request (µs): process / main thread | p50 / p99 at max (ms) | p50 / p99 at ${String(rate)} req/s (ms) | added p50 / p99 vs direct (ms) |`,
    '|---|---|---:|---:|---:|---:|---:|',
  )
  for (const r of rows) {
    const d = find('direct', r.mode)
    const added =
      r.target === 'direct' || !d
        ? '–'
        : `${fmt(r.fixed.p50Ms - d.fixed.p50Ms, 3)} / ${fmt(r.fixed.p99Ms - d.fixed.p99Ms, 3)}`
    lines.push(
      `| ${r.target} | ${r.mode} | ${fmt(r.load.rps, 0)} | ${fmt(r.cpuUsPerRequest, 0)} / ${fmt(r.mainCpuUsPerRequest, 0)} | ${fmt(r.load.p50Ms)} / ${fmt(r.load.p99Ms)} | ${fmt(r.fixed.p50Ms, 3)} / ${fmt(r.fixed.p99Ms, 3)} | ${added} |`,
    )
  }
  const verdicts: string[] = []
  for (const mode of workersMode ? (Object.keys(BODIES) as Mode[]) : []) {
    const n = String(workers)
    const w1 = find('wattline', mode)
    const wn = find(`wattline×${n}`, mode)
    const nn = find(`nginx×${n}`, mode)
    const n1 = find('nginx', mode)
    if (w1 && wn) {
      const scale = wn.load.rps / w1.load.rps
      verdicts.push(
        `${mode}: throughput wattline×${n} / wattline = ${fmt(scale)} (target ≥ ${fmt(0.8 * workers, 1)}: ${scale >= 0.8 * workers ? 'met' : 'MISSED'}); CPU per request ${fmt(wn.cpuUsPerRequest, 0)} µs vs ${fmt(w1.cpuUsPerRequest, 0)} µs`,
      )
    }
    if (wn && nn) {
      const ratio = wn.load.rps / nn.load.rps
      verdicts.push(
        `${mode}: throughput wattline×${n} / nginx×${n} = ${fmt(ratio)} (target ≥ 0.60: ${ratio >= 0.6 ? 'met' : 'MISSED'})`,
      )
    }
    if (nn && n1) {
      verdicts.push(`${mode}: throughput nginx×${n} / nginx = ${fmt(nn.load.rps / n1.load.rps)}`)
    }
  }
  for (const mode of Object.keys(BODIES) as Mode[]) {
    const w = find('wattline', mode)
    const n = find('nginx', mode)
    const d = find('direct', mode)
    const f = find('floor', mode)
    if (w && f) {
      const proc = w.cpuUsPerRequest / f.cpuUsPerRequest
      const main = w.mainCpuUsPerRequest / f.mainCpuUsPerRequest
      const met = (r: number): string => (r <= 1.3 ? 'met' : 'MISSED')
      verdicts.push(
        `${mode}: CPU per request Wattline/floor = ${fmt(proc)} process (${fmt(w.cpuUsPerRequest, 0)} / ${fmt(f.cpuUsPerRequest, 0)} µs; target ≤ 1.30: ${met(proc)}), ${fmt(main)} main thread (${fmt(w.mainCpuUsPerRequest, 0)} / ${fmt(f.mainCpuUsPerRequest, 0)} µs; ${met(main)})`,
      )
    }
    if (f && n) {
      verdicts.push(
        `${mode}: throughput floor/nginx = ${fmt(f.load.rps / n.load.rps)} (the most a Node gateway on this stack could reach)`,
      )
    }
    if (w && n) {
      const ratio = w.load.rps / n.load.rps
      verdicts.push(
        `${mode}: throughput Wattline/nginx = ${fmt(ratio)} (target ≥ 0.60: ${ratio >= 0.6 ? 'met' : 'MISSED'})`,
      )
    }
    if (w && d) {
      const a50 = w.fixed.p50Ms - d.fixed.p50Ms
      const a99 = w.fixed.p99Ms - d.fixed.p99Ms
      const atRate =
        w.fixed.rate >= rate * 0.95
          ? `${String(rate)} req/s`
          : `${fmt(w.fixed.rate, 0)} req/s achieved of ${String(rate)}`
      // A negative difference means the direct run itself stalled (its tail is the box's, not the
      // proxy's): no verdict from it.
      const verdict = (added: number, target: number): string =>
        added < 0
          ? 'NO VERDICT: direct was slower, a stall of the box; rerun'
          : added <= target
            ? 'met'
            : 'MISSED'
      verdicts.push(
        `${mode}: added latency at ${atRate}: p50 ${fmt(a50, 3)} ms (target ≤ 0.5: ${verdict(a50, 0.5)}), p99 ${fmt(a99, 3)} ms (target ≤ 2: ${verdict(a99, 2)})`,
      )
    }
  }
  verdicts.push(...cacheLines)
  const errors = rows.reduce((a, r) => a + r.load.errors + r.fixed.errors, 0)
  console.log(
    `\nGateway proxy overhead (measured, loopback; proxy on CPU ${PROXY_CPU ?? 'any'}, stub + load on CPU ${LOAD_CPU ?? 'any'}; ${String(durationS)} s per load)\n`,
  )
  console.log(lines.join('\n'))
  console.log('')
  for (const v of verdicts) console.log(`- ${v}`)
  if (errors > 0)
    console.log(`- errors during the loads: ${String(errors)} (non-2xx or socket errors)`)
  for (const n of notes) console.log(`- note: ${n}`)

  if (args.profile) {
    for (const [who, sub, target] of [
      ['Wattline', 'prof', 'wattline'],
      ['Floor (bare fastify + undici)', 'prof-floor', 'floor'],
    ] as const) {
      if (!wanted.has(target)) continue
      const profDir = join(dir, sub)
      const files = (() => {
        try {
          return readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))
        } catch {
          return []
        }
      })()
      if (files[0]) {
        console.log(`\n${who} hot spots (self time, node --cpu-prof, ${join(profDir, files[0])}):`)
        for (const h of hotSpots(join(profDir, files[0]))) {
          console.log(`  ${h.selfPct.toFixed(1).padStart(5)} %  ${h.name}`)
        }
        console.log('by area (self time):')
        for (const h of hotAreas(join(profDir, files[0]))) {
          console.log(`  ${h.selfPct.toFixed(1).padStart(5)} %  ${h.name}`)
        }
      } else console.log(`\n(no CPU profile was written by ${target})`)
    }
  }
  if (args.json)
    writeFileSync(
      args.json,
      JSON.stringify({ durationS, rate, connections, rows, verdicts, notes }, null, 2),
    )
  return 0
}

let code = 3
try {
  code = await main()
} catch (e) {
  console.error(`bench:gateway failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
} finally {
  await stopAll()
  clearTimeout(watchdog)
  if (!args.profile) rmSync(dir, { recursive: true, force: true })
  else console.error(`(profile and temp files kept in ${dir})`)
}
process.exit(code)

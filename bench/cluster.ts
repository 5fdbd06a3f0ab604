/**
 * `npm run bench:cluster`: what the shared load counters (`cluster:` section) cost, side by side in
 * one run on loopback.
 *
 * 1. Routing view, in process: reading three backends' global in-flight counts from the gateway's
 *    cache (`ClusterLoad.inflight`, what every routing decision does) vs reading them from Redis
 *    (`LoadCounters.inflight`, one round trip: what a per-decision read would cost), and one
 *    acquire + release pair (the round trips each request does pay). Serial, µs per operation.
 * 2. End to end: `wattline serve` without `cluster:` (local counting) and with it (Redis), in front
 *    of the same fast stub, closed loop (wrk, or autocannon), non-streaming chat completions,
 *    alternating local/cluster `--rounds` times; per variant the best round's throughput and
 *    latency, the least gateway CPU (user + system, /proc) per request, and the ratios.
 *
 * Redis: REDIS_URL when set, else a throwaway `redis-server` on a free loopback port. The gateway
 * runs on CPU 0; the stub, Redis and the load generator on CPU 1 (taskset, when 2+ CPUs).
 * Options: --duration-s N (per load, default 6), --connections C (default 32), --rounds R (default 2),
 * --ops N (in-process operations per variant, default 5000).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { openRedisLoadCounters } from '../packages/wattline/src/adapters/load/redis-load-counters.ts'
import { createClusterLoad } from '../packages/wattline/src/http/cluster-load.ts'
import {
  freePort,
  hasCommand,
  pinned,
  start,
  waitReady,
  type Started,
} from './gateway/processes.ts'
import { runLoad, type LoadResult } from './gateway/wrk.ts'
import { MODEL, startFastUpstream } from './gateway/bench-setup.ts'
import { processCpuMs } from './proc-cpu.ts'

const { values: args } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '6' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    ops: { type: 'string', default: '5000' },
  },
})
const durationS = Number(args['duration-s'])
const connections = Number(args.connections)
const rounds = Number(args.rounds)
const ops = Number(args.ops)
for (const [name, v] of [
  ['--duration-s', durationS],
  ['--connections', connections],
  ['--rounds', rounds],
  ['--ops', ops],
] as const) {
  if (!Number.isInteger(v) || v <= 0) {
    console.error(`bench:cluster: ${name} must be a positive integer`)
    process.exit(2)
  }
}

const REPO = new URL('..', import.meta.url).pathname
const BODY = JSON.stringify({
  model: MODEL,
  max_tokens: 5,
  messages: [{ role: 'user', content: 'hi' }],
})
const twoCpus = availableParallelism() >= 2
const PROXY_CPU = twoCpus ? '0' : undefined
const LOAD_CPU = twoCpus ? '1' : undefined
const dir = mkdtempSync(join(tmpdir(), 'wattline-bench-cluster-'))
const running: Started[] = []
const node = (...argv: string[]): string[] => [process.execPath, '--import', 'tsx', ...argv]

async function redisUrl(): Promise<string> {
  const given = process.env['REDIS_URL']
  if (given !== undefined) return given
  if (!hasCommand('redis-server')) throw new Error('set REDIS_URL or install redis-server')
  const port = await freePort()
  const argv = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '']
  running.push(start(pinned(LOAD_CPU, [...argv, '--appendonly', 'no', '--dir', dir])))
  const url = `redis://127.0.0.1:${String(port)}`
  for (let i = 0; i < 100; i++) {
    const probe = await openRedisLoadCounters({
      url,
      keyPrefix: 'probe',
      leaseMs: 1000,
      heartbeatMs: 500,
      commandTimeoutMs: 200,
    })
    const ok = await probe.inflight(['x']).then(
      () => true,
      () => false,
    )
    await probe.close()
    if (ok) return url
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`redis-server on ${url} did not answer`)
}

/** µs per call of `op`, run `ops` times one after the other. */
async function perOp(op: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(500, ops); i++) await op() // warm-up
  const t0 = performance.now()
  for (let i = 0; i < ops; i++) await op()
  return ((performance.now() - t0) * 1000) / ops
}

async function inProcess(url: string): Promise<Record<string, number>> {
  const ids = ['paris', 'frankfurt', 'warsaw']
  const counters = await openRedisLoadCounters({
    url,
    keyPrefix: `bench-${String(process.pid)}`,
    leaseMs: 30_000,
    heartbeatMs: 5_000,
    commandTimeoutMs: 1_000,
  })
  const cluster = createClusterLoad({
    counters,
    backends: new Map(ids.map((id, i) => [id, ['FR', 'DE', 'PL'][i]!])),
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
  })
  await cluster.sync()
  try {
    // The cache read is synchronous: timed in a plain loop (no await per call).
    let sink = 0
    const n = ops * 100
    const t0 = performance.now()
    for (let i = 0; i < n; i++) for (const id of ids) sink += cluster.inflight(id, i & 1)
    const cached = ((performance.now() - t0) * 1000) / n
    const roundTrip = await perOp(() => counters.inflight(ids))
    const pair = await perOp(async () => {
      const got = await counters.acquire('paris', 1_000_000)
      if (got.kind === 'acquired') await counters.release(got.lease)
    })
    if (sink < 0) console.error(sink)
    return { cached, roundTrip, pair }
  } finally {
    await cluster.close()
  }
}

async function gateway(
  upstreamPort: number,
  redis: string | undefined,
): Promise<Started & { url: string }> {
  const port = await freePort()
  const name = redis === undefined ? 'local' : 'cluster'
  const config = join(dir, `${name}.yaml`)
  writeFileSync(
    config,
    [
      '# generated by bench/cluster.ts',
      'gateway:',
      '  log_level: warn',
      'ledger:',
      `  url: sqlite:${join(dir, `${name}.db`)}`,
      'services:',
      '  - name: chat',
      '    default: true',
      '    routing: carbon-aware',
      'backends:',
      '  - id: stub',
      `    url: http://127.0.0.1:${String(upstreamPort)}/v1`,
      '    zone: FR',
      '    hardware: H100-SXM',
      `    models: [${MODEL}]`,
      '    max_concurrency: 1024',
      ...(redis === undefined
        ? []
        : [
            'cluster:',
            '  redis_url_env: WATTLINE_REDIS_URL',
            `  key_prefix: bench-${String(process.pid)}`,
          ]),
      '',
    ].join('\n'),
  )
  const argv = node(join(REPO, 'packages/wattline/src/cli/main.ts'), 'serve', '--config', config)
  const s = start(pinned(PROXY_CPU, [...argv, '--host', '127.0.0.1', '--port', String(port)]), {
    ...process.env,
    ...(redis === undefined ? {} : { WATTLINE_REDIS_URL: redis }),
  })
  running.push(s)
  const url = `http://127.0.0.1:${String(port)}`
  await waitReady(`${url}/readyz`, 60_000, s)
  return { ...s, url }
}

interface Run extends LoadResult {
  /** Gateway CPU (user + system) per request of the measured load, µs. */
  readonly cpuUs: number
}

async function main(): Promise<void> {
  console.error(
    `bench:cluster: node ${process.version}, ${String(availableParallelism())} CPUs, load ${loadavg()[0]!.toFixed(2)}`,
  )
  const url = await redisUrl()
  const micro = await inProcess(url)
  const { port: upstreamPort, started: stub } = await startFastUpstream(LOAD_CPU)
  running.push(stub)
  const best: Record<'local' | 'cluster', Run | undefined> = {
    local: undefined,
    cluster: undefined,
  }
  // Least CPU per request of the rounds: the figure least moved by other work on the machine.
  const leastCpu = { local: Number.POSITIVE_INFINITY, cluster: Number.POSITIVE_INFINITY }
  for (let r = 0; r < rounds; r++) {
    for (const variant of ['local', 'cluster'] as const) {
      const gw = await gateway(upstreamPort, variant === 'cluster' ? url : undefined)
      const load = async (s: number): Promise<LoadResult> =>
        runLoad({
          url: `${gw.url}/v1/chat/completions`,
          body: BODY,
          connections,
          durationS: s,
          dir,
          ...(LOAD_CPU === undefined ? {} : { cpus: LOAD_CPU }),
        })
      await load(2) // warm-up
      const cpuBefore = processCpuMs(gw.child.pid)
      const loaded = await load(durationS)
      const cpuUs = ((processCpuMs(gw.child.pid) - cpuBefore) * 1000) / loaded.requests
      const result: Run = { ...loaded, cpuUs }
      await gw.stop()
      console.error(
        `  round ${String(r + 1)} ${variant.padEnd(7)} ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ${String(result.errors)} errors, gateway CPU ${result.cpuUs.toFixed(0)} µs/request`,
      )
      const prev = best[variant]
      if (prev === undefined || result.rps > prev.rps) best[variant] = result
      leastCpu[variant] = Math.min(leastCpu[variant], result.cpuUs)
    }
  }
  const local = best.local!
  const cluster = best.cluster!
  console.log(
    `\nbench:cluster (${String(connections)} connections, ${String(durationS)} s per load, best of ${String(rounds)})`,
  )
  console.log('| measure | local | cluster (Redis) | ratio cluster/local |')
  console.log('|---|---|---|---|')
  console.log(
    `| routing view of 3 backends, µs per decision | cache ${micro['cached']!.toFixed(3)} | Redis read ${micro['roundTrip']!.toFixed(1)} | ${(micro['roundTrip']! / micro['cached']!).toFixed(0)}× |`,
  )
  console.log(
    `| acquire + release (2 round trips), µs per request | – | ${micro['pair']!.toFixed(1)} | – |`,
  )
  console.log(
    `| throughput, req/s, best round | ${local.rps.toFixed(0)} | ${cluster.rps.toFixed(0)} | ${(cluster.rps / local.rps).toFixed(2)} |`,
  )
  console.log(
    `| gateway CPU (user + system), µs per request, least of the rounds | ${leastCpu.local.toFixed(0)} | ${leastCpu.cluster.toFixed(0)} | ${(leastCpu.cluster / leastCpu.local).toFixed(2)} |`,
  )
  console.log(
    `| p50 latency of that round, ms | ${local.p50Ms.toFixed(2)} | ${cluster.p50Ms.toFixed(2)} | ${(cluster.p50Ms / local.p50Ms).toFixed(2)} |`,
  )
  console.log(
    `| p99 latency of that round, ms | ${local.p99Ms.toFixed(2)} | ${cluster.p99Ms.toFixed(2)} | ${(cluster.p99Ms / local.p99Ms).toFixed(2)} |`,
  )
}

try {
  await main()
} finally {
  for (const s of running.reverse()) await s.stop()
  rmSync(dir, { recursive: true, force: true })
}

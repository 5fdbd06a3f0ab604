/**
 * `npm run bench:microbatch`: embeddings micro-batching (issue 11, lever 4) side by side in one run,
 * one `wattline serve` in front of one SIMULATED model server (`wattline simulate-backend`,
 * llama-3.1-8b-instruct on H100-SXM, real time), two services on the same backend:
 *
 *   off  `embeddings_batching` off: one upstream call per request
 *   on   `embeddings_batching: { enabled: true, window_ms, max_batch }`
 *
 * Load: a closed loop of `--connections` clients, each sending one-string `/v1/embeddings`
 * requests (~`--chars` characters, a new text each time) for `--duration-s` seconds per round;
 * rounds alternate off/on and on/off (`--rounds` each), medians compared. Per side: requests/s,
 * p50/p95 latency, upstream calls per request (Σ 1 / `x-wattline-batched`), the gateway's CPU per
 * request (/proc, user + system), IT energy per request the gateway attributed
 * (`x-wattline-energy-j`, live attribution over modelled power), the simulator's own modelled
 * energy per request (its DCGM energy counter over the round, idle included), and the
 * `microbatch` saving the gateway recorded per request (`wattline_energy_saved_joules_total`).
 *
 * Read the simulator's figure with care: it models an embeddings request as one sequence whose
 * prompt is all its inputs, so a merged call of n inputs is one long prefill at batch 1 — where a
 * real server (vLLM, TEI) runs n sequences in one batch. It is the simulator's view, not a
 * measurement. The gateway runs on CPU 0, the simulator and the load on CPU 1 (taskset, if present).
 *
 * Options: --duration-s N (default 5), --connections C (default 32), --rounds R (default 2),
 * --chars N (default 400), --window-ms W (default 5), --max-batch B (default 64).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { freePort, pinned, start, waitReady, type Started } from './gateway/processes.ts'
import { median } from './median.ts'
import { processCpuMs } from './proc-cpu.ts'

const { values: args } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
    chars: { type: 'string', default: '400' },
    'window-ms': { type: 'string', default: '5' },
    'max-batch': { type: 'string', default: '64' },
  },
})
const num = (name: string, min: number): number => {
  const v = Number(args[name as keyof typeof args])
  if (!Number.isFinite(v) || v < min) {
    console.error(`bench:microbatch: --${name} must be a number ≥ ${String(min)}`)
    process.exit(2)
  }
  return v
}
const durationS = num('duration-s', 1)
const connections = num('connections', 1)
const rounds = num('rounds', 1)
const chars = num('chars', 1)
const windowMs = num('window-ms', 0)
const maxBatch = num('max-batch', 1)

const REPO = new URL('..', import.meta.url).pathname
const MAIN = join(REPO, 'packages/wattline/src/cli/main.ts')
const MODEL = 'llama-3.1-8b-instruct'
const twoCpus = availableParallelism() >= 2
const GATEWAY_CPU = twoCpus ? '0' : undefined
const OTHER_CPU = twoCpus ? '1' : undefined
const dir = mkdtempSync(join(tmpdir(), 'wattline-bench-microbatch-'))
const running: Started[] = []
const node = (...argv: string[]): string[] => [process.execPath, '--import', 'tsx', ...argv]

/** Sum of every series of `metric` (optionally those whose labels contain `match`) in Prometheus text. */
function metricSum(text: string, metric: string, match = ''): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || !line.includes(match)) continue
    const rest = line.slice(metric.length)
    if (rest[0] !== '{' && rest[0] !== ' ') continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

async function scrape(url: string): Promise<string> {
  return (await fetch(url)).text()
}

type Side = 'off' | 'on'

interface Round {
  readonly n: number
  readonly calls: number
  readonly latenciesMs: number[]
  readonly gatewayJ: number
}

let text = 0
/** Closed loop for `durationS` on `service`. */
async function load(port: number, service: Side): Promise<Round> {
  const pool = new Pool(`http://127.0.0.1:${String(port)}`, { connections })
  const end = Date.now() + durationS * 1000
  const latenciesMs: number[] = []
  let n = 0
  let calls = 0
  let gatewayJ = 0
  const filler = 'energy aware embeddings '.repeat(Math.ceil(chars / 24))
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const input = `${String(++text)} ${filler}`.slice(0, chars)
      const t0 = performance.now()
      const r = await pool.request({
        method: 'POST',
        path: '/v1/embeddings',
        headers: { 'content-type': 'application/json', 'x-wattline-service': service },
        body: JSON.stringify({ model: MODEL, input }),
      })
      await r.body.text()
      if (r.statusCode !== 200)
        throw new Error(`bench:microbatch: ${service} got ${String(r.statusCode)}`)
      latenciesMs.push(performance.now() - t0)
      n += 1
      const batched = Number(r.headers['x-wattline-batched'] ?? 1)
      calls += 1 / batched
      gatewayJ += Number(r.headers['x-wattline-energy-j'])
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  await pool.close()
  return { n, calls, latenciesMs, gatewayJ }
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number
}

async function main(): Promise<void> {
  const simPort = await freePort()
  const sim = start(
    pinned(
      OTHER_CPU,
      node(
        MAIN,
        'simulate-backend',
        '--model',
        MODEL,
        '--hardware',
        'H100-SXM',
        '--zone',
        'FR',
        '--port',
        String(simPort),
      ),
    ),
  )
  running.push(sim)
  const simUrl = `http://127.0.0.1:${String(simPort)}`
  await waitReady(`${simUrl}/healthz`, 60_000, sim)
  const port = await freePort()
  const config = join(dir, 'wattline.yaml')
  writeFileSync(
    config,
    `# generated by bench/microbatch.ts
gateway: { log_level: warn }
carbon: { signal: average, sources: [{ type: static }] }
ledger: { url: "sqlite:${join(dir, 'ledger.db')}" }
services:
  - { name: off, default: true }
  - name: on
    embeddings_batching: { enabled: true, window_ms: ${String(windowMs)}, max_batch: ${String(maxBatch)} }
backends:
  - { id: sim, url: "${simUrl}/v1", zone: FR, hardware: H100-SXM, models: [${MODEL}], max_concurrency: 1024 }
`,
  )
  const gw = start(
    pinned(
      GATEWAY_CPU,
      node(MAIN, 'serve', '--config', config, '--host', '127.0.0.1', '--port', String(port)),
    ),
  )
  running.push(gw)
  await waitReady(`http://127.0.0.1:${String(port)}/readyz`, 60_000, gw)
  const pid = gw.child.pid as number
  // Warm-up (JIT, connection pools), not measured.
  for (const side of ['off', 'on'] as const) await load(port, side)
  const results: Record<
    Side,
    {
      rps: number[]
      cpuUs: number[]
      calls: number[]
      p50: number[]
      p95: number[]
      gwJ: number[]
      simJ: number[]
      savedJ: number[]
    }
  > = {
    off: { rps: [], cpuUs: [], calls: [], p50: [], p95: [], gwJ: [], simJ: [], savedJ: [] },
    on: { rps: [], cpuUs: [], calls: [], p50: [], p95: [], gwJ: [], simJ: [], savedJ: [] },
  }
  const gwMetrics = `http://127.0.0.1:${String(port)}/metrics`
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      const simBefore = metricSum(
        await scrape(`${simUrl}/metrics`),
        'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
      )
      const savedBefore = metricSum(
        await scrape(gwMetrics),
        'wattline_energy_saved_joules_total',
        'lever="microbatch"',
      )
      const cpuBefore = processCpuMs(pid)
      const round = await load(port, side)
      const cpuMs = processCpuMs(pid) - cpuBefore
      const simJ =
        (metricSum(await scrape(`${simUrl}/metrics`), 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION') -
          simBefore) /
        1000
      const savedJ =
        metricSum(
          await scrape(gwMetrics),
          'wattline_energy_saved_joules_total',
          'lever="microbatch"',
        ) - savedBefore
      const out = results[side]
      out.rps.push(round.n / durationS)
      out.cpuUs.push((cpuMs * 1000) / round.n)
      out.calls.push(round.calls / round.n)
      out.p50.push(quantile(round.latenciesMs, 0.5))
      out.p95.push(quantile(round.latenciesMs, 0.95))
      out.gwJ.push(round.gatewayJ / round.n)
      out.simJ.push(simJ / round.n)
      out.savedJ.push(savedJ / round.n)
    }
  }
  console.log(
    `bench:microbatch — ${String(rounds)} round(s) × ${String(durationS)} s per side, ${String(connections)} connections, ~${String(chars)}-character inputs, window_ms ${String(windowMs)}, max_batch ${String(maxBatch)}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
  console.log(
    'side  req/s  p50 ms  p95 ms  upstream calls/req  gateway CPU µs/req  gateway J/req (attributed)  simulator J/req (modelled)  microbatch saving J/req (recorded)',
  )
  for (const side of ['off', 'on'] as const) {
    const o = results[side]
    console.log(
      [
        side.padEnd(4),
        median(o.rps).toFixed(0).padStart(6),
        median(o.p50).toFixed(1).padStart(7),
        median(o.p95).toFixed(1).padStart(7),
        median(o.calls).toFixed(3).padStart(19),
        median(o.cpuUs).toFixed(0).padStart(19),
        median(o.gwJ).toFixed(3).padStart(27),
        median(o.simJ).toFixed(3).padStart(27),
        median(o.savedJ).toFixed(3).padStart(35),
      ].join(' '),
    )
  }
  const ratio = (k: 'rps' | 'cpuUs' | 'calls' | 'p50' | 'gwJ' | 'simJ'): string =>
    (median(results.on[k]) / median(results.off[k])).toFixed(3)
  console.log(
    `on / off: upstream calls per request ${ratio('calls')}, gateway CPU per request ${ratio('cpuUs')}, p50 latency ${ratio('p50')}, req/s ${ratio('rps')}, gateway-attributed J per request ${ratio('gwJ')}, simulator J per request ${ratio('simJ')}`,
  )
}

try {
  await main()
} finally {
  await Promise.all(running.map((s) => s.stop()))
  rmSync(dir, { recursive: true, force: true })
}

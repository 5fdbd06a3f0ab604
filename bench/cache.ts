/**
 * `npm run bench:cache`: the CPU cost of the response cache when it never hits (issue 11: with the
 * cache on and 0 % hit rate, CPU per request rises by ≤ 10 %). Side by side in one run, against the
 * same fast stub upstream (bench/gateway/fast-upstream.ts), four services of ONE `wattline serve`
 * (the request names its service with `x-wattline-service`):
 *
 *   off      no cache
 *   on       `cache: { enabled: true }` (memory store, deterministic mode, the default
 *            `key: normalised`: canonical JSON of the body)
 *   exact    the same with `key: exact` (the SHA-256 of the body's bytes as sent)
 *   min2     `on` with `min_uses: 2`: every request is keyed and looked up, but no answer is
 *            stored (none is asked twice): the cost of the decision alone
 *   control  `off` again: an A/A round, whose ratio to `off` is the bench's own noise
 *
 * One process for all (the default) compares the same code, JIT state and heap; separate processes
 * (`--processes`: one `wattline serve` per target, as before 2026-12-05 evening) also compare two
 * processes' luck, which an A/A pair showed to be ±5 % on this shared box.
 *
 * Every request is a `temperature: 0` chat completion with a prompt never sent before, so each one
 * is looked up, misses, goes upstream and is stored: the whole cost of the cache, no hit to save it.
 * The load is a closed loop of `--connections` requests in flight for `--duration-s` seconds per
 * round; each round runs every target once, in a rotated order (`--rounds` of them), and the
 * medians and the medians of the per-round ratios are compared. The figure is the proxy's CPU time
 * (user + system, /proc; and its main thread's) per request, which barely moves when other work
 * shares the machine (unlike req/s). The proxy runs on CPU 0, the stub on CPU 1 (taskset, when
 * present).
 *
 * Options: --duration-s N (default 6), --connections C (default 16), --rounds R (default 2),
 * --max-bytes B (the services' `cache.max_bytes`, default 64 MiB: a small value keeps the store
 * evicting, a large one lets it fill), --processes (one process per target), --profile (the
 * proxies under `node --cpu-prof`; prints the hot spots, warm-up included).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { serviceSchema } from '../packages/wattline/src/config/schema.ts'
import { cacheKey, type CacheRequest } from '../packages/wattline/src/http/response-cache.ts'
import { hotSpots } from './gateway/cpu-profile.ts'
import { MODEL, serveArgs, startFastUpstream } from './gateway/bench-setup.ts'
import { median } from './median.ts'
import { processCpuMs } from './proc-cpu.ts'
import { freePort, pinned, start, waitReady, type Started } from './gateway/processes.ts'

const { values: args } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '6' },
    connections: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
    'max-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
    profile: { type: 'boolean', default: false },
    processes: { type: 'boolean', default: false },
  },
})
const durationS = Number(args['duration-s'])
const connections = Number(args.connections)
const rounds = Number(args.rounds)
const maxBytes = Number(args['max-bytes'])
for (const [name, v] of [
  ['--duration-s', durationS],
  ['--connections', connections],
  ['--rounds', rounds],
  ['--max-bytes', maxBytes],
] as const) {
  if (!(v > 0) || !Number.isFinite(v)) {
    console.error(`bench:cache: ${name} must be a positive number`)
    process.exit(2)
  }
}

const REPO = new URL('..', import.meta.url).pathname
const twoCpus = availableParallelism() >= 2
const PROXY_CPU = twoCpus ? '0' : undefined
const LOAD_CPU = twoCpus ? '1' : undefined
const dir = mkdtempSync(join(tmpdir(), 'wattline-bench-cache-'))
const running: Started[] = []

const node = (...argv: string[]): string[] => {
  const flags = argv.filter((a) => a.startsWith('--cpu-prof'))
  const rest = argv.filter((a) => !a.startsWith('--cpu-prof'))
  return [process.execPath, ...flags, '--import', 'tsx', ...rest]
}

type Target = 'off' | 'on' | 'exact' | 'min2' | 'control'
const TARGETS: readonly Target[] = ['off', 'on', 'exact', 'min2', 'control']
/** The service each target's requests name (`control` is `off` again). */
const SERVICE: Record<Target, string> = {
  off: 'off',
  on: 'on',
  exact: 'exact',
  min2: 'min2',
  control: 'off',
}

interface Proxy {
  readonly port: number
  readonly pid: number
}

/** One `wattline serve` with the four services (or only `services`), on CPU 0. */
async function startWattline(
  name: string,
  upstreamPort: number,
  services: readonly string[] = ['off', 'on', 'exact', 'min2'],
): Promise<Proxy> {
  const port = await freePort()
  const config = join(dir, `${name}.yaml`)
  const policy: Record<string, string> = {
    off: '',
    on: `, cache: { enabled: true, ttl_s: 600, max_bytes: ${String(maxBytes)} }`,
    exact: `, cache: { enabled: true, ttl_s: 600, max_bytes: ${String(maxBytes)}, key: exact }`,
    min2: `, cache: { enabled: true, ttl_s: 600, max_bytes: ${String(maxBytes)}, min_uses: 2 }`,
  }
  writeFileSync(
    config,
    `# generated by bench/cache.ts
gateway: { log_level: warn }
carbon: { signal: average, sources: [{ type: static }] }
ledger: { url: "sqlite:${join(dir, `${name}.db`)}" }
services:
${services.map((sv, i) => `  - { name: ${sv}${i === 0 ? ', default: true' : ''}${policy[sv] ?? ''} }\n`).join('')}backends:
  - { id: stub, url: "http://127.0.0.1:${String(upstreamPort)}/v1", zone: FR, hardware: H100-SXM, models: [${MODEL}], max_concurrency: 1024 }
`,
  )
  const prof = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, `prof-${name}`)}`] : []
  const s = start(
    pinned(
      PROXY_CPU,
      node(...prof, join(REPO, 'packages/wattline/src/cli/main.ts'), ...serveArgs(config, port)),
    ),
  )
  running.push(s)
  await waitReady(`http://127.0.0.1:${String(port)}/readyz`, 60_000, s)
  return { port, pid: s.child.pid as number }
}

let prompt = 0
/** Closed loop for `durationS`: every request a new prompt. Returns requests answered 200. */
async function load(
  port: number,
  service: string,
  label: string,
): Promise<{ n: number; hits: number }> {
  const pool = new Pool(`http://127.0.0.1:${String(port)}`, { connections })
  const end = Date.now() + durationS * 1000
  let n = 0
  let hits = 0
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const body = JSON.stringify({
        model: MODEL,
        messages: [{ role: 'user', content: `${label} question ${String(++prompt)}` }],
        max_tokens: 16,
        temperature: 0,
      })
      const r = await pool.request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', 'x-wattline-service': service },
        body,
      })
      await r.body.text()
      if (r.statusCode === 200) n += 1
      if (r.headers['x-wattline-cache'] === 'hit') hits += 1
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  await pool.close()
  return { n, hits }
}

/**
 * The key alone, in this process (a tight loop: the floor of what keying costs, before the
 * server's colder caches): `normalised` and `exact`, for the bench's ~100-byte chat body and a
 * ~5 KB conversation (a 2 KB system prompt and ten turns).
 */
function keyCosts(): void {
  const bodies = {
    '100 B': (i: number) => ({
      model: MODEL,
      messages: [{ role: 'user', content: `on-0 question ${String(i)}` }],
      max_tokens: 16,
      temperature: 0,
    }),
    '5 KB': (i: number) => ({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are a helpful assistant. '.repeat(70) },
        ...Array.from({ length: 10 }, (_, j) => ({
          role: j % 2 === 1 ? 'assistant' : 'user',
          content: `turn ${String(j)} of conversation ${String(i)} `.repeat(8),
        })),
      ],
      max_tokens: 256,
      temperature: 0,
    }),
  }
  const line: string[] = []
  for (const [size, make] of Object.entries(bodies)) {
    for (const key of ['normalised', 'exact'] as const) {
      const service = serviceSchema.parse({ name: 'chat', cache: { enabled: true, key } })
      const requests: CacheRequest[] = Array.from({ length: 1000 }, (_, i) => {
        const body = make(i)
        return {
          service,
          tenant: null,
          authorization: undefined,
          cacheControl: undefined,
          endpoint: '/v1/chat/completions',
          model: MODEL,
          body: JSON.parse(JSON.stringify(body)) as Record<string, unknown>,
          raw: Buffer.from(JSON.stringify(body)),
        }
      })
      const n = size === '100 B' ? 200_000 : 20_000
      const times: number[] = []
      for (let round = 0; round < 5; round++) {
        const t0 = process.hrtime.bigint()
        for (let i = 0; i < n; i++) cacheKey(requests[i % 1000] as CacheRequest)
        times.push(Number(process.hrtime.bigint() - t0) / n / 1000)
      }
      line.push(`${size} ${key} ${median(times.slice(1)).toFixed(2)} µs`)
    }
  }
  console.log(`key per request in this process (median of 4 rounds): ${line.join(', ')}`)
}

async function main(): Promise<void> {
  keyCosts()
  const { port: upPort, started: up } = await startFastUpstream(LOAD_CPU)
  running.push(up)
  let targets: Record<Target, Proxy>
  if (args.processes) {
    const control = await startWattline('control', upPort, ['off'])
    targets = {
      off: await startWattline('off', upPort, ['off']),
      on: await startWattline('on', upPort, ['on']),
      exact: await startWattline('exact', upPort, ['exact']),
      min2: await startWattline('min2', upPort, ['min2']),
      control,
    }
  } else {
    const one = await startWattline('wattline', upPort)
    targets = { off: one, on: one, exact: one, min2: one, control: one }
  }
  // Warm-up (JIT, connection pools), not measured.
  for (const name of TARGETS) await load(targets[name].port, SERVICE[name], 'warmup')
  const perTarget = (): Record<Target, number[]> => ({
    off: [],
    on: [],
    exact: [],
    min2: [],
    control: [],
  })
  const perReqUs = perTarget()
  const mainUs = perTarget()
  const rps = perTarget()
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round: no target always runs first.
    for (let i = 0; i < TARGETS.length; i++) {
      const name = TARGETS[(r + i) % TARGETS.length] as Target
      const t = targets[name]
      const before = processCpuMs(t.pid)
      const beforeMain = processCpuMs(t.pid, true)
      const { n, hits } = await load(t.port, SERVICE[name], `${name}-${String(r)}`)
      const cpuMs = processCpuMs(t.pid) - before
      const mainMs = processCpuMs(t.pid, true) - beforeMain
      if (hits !== 0) throw new Error(`bench:cache: ${String(hits)} hits; the bench needs 0 %`)
      perReqUs[name].push((cpuMs * 1000) / n)
      mainUs[name].push((mainMs * 1000) / n)
      rps[name].push(n / durationS)
    }
  }
  console.log(
    `bench:cache — ${String(rounds)} round(s) × ${String(durationS)} s each, ${String(connections)} connections, 0 % hit rate, max_bytes ${String(maxBytes)}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  )
  const rounds_ = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ')
  console.log(
    'target   process CPU µs/request (median; rounds)   main thread (median; rounds)    req/s',
  )
  for (const name of TARGETS) {
    console.log(
      `${name.padEnd(8)} ${median(perReqUs[name]).toFixed(0).padStart(6)} (${rounds_(perReqUs[name])})`.padEnd(
        50,
      ) +
        `${median(mainUs[name]).toFixed(0).padStart(6)} (${rounds_(mainUs[name])})`.padEnd(32) +
        median(rps[name]).toFixed(0).padStart(8),
    )
  }
  // Each round runs the targets back to back: their ratio per round cancels most of what the
  // machine's other work does to both.
  const paired = (xs: Record<Target, number[]>, name: Target): number =>
    median(xs[name].map((x, i) => x / (xs.off[i] as number)))
  // The same against both no-cache measurements of the round (off and control): a stall that hits
  // one of them moves this baseline half as much.
  const pairedBoth = (xs: Record<Target, number[]>, name: Target): number =>
    median(xs[name].map((x, i) => (2 * x) / ((xs.off[i] as number) + (xs.control[i] as number))))
  const pct = (r: number): string => `${r.toFixed(3)} (${((r - 1) * 100).toFixed(1)} %)`
  const label = {
    on: 'cache on (key: normalised)',
    exact: 'cache on (key: exact)',
    min2: 'cache on (min_uses: 2: nothing stored)',
    control: 'control (A/A: no cache)',
  }
  console.log(args.processes ? 'one process per target' : 'one process, a service per target')
  for (const name of ['on', 'exact', 'min2', 'control'] as const) {
    const p = median(perReqUs[name]) / median(perReqUs.off)
    const m = median(mainUs[name]) / median(mainUs.off)
    console.log(
      `${label[name]} / off, CPU per request: process ${pct(p)}, main thread ${pct(m)}${name === 'control' ? ' (the noise)' : '; target ≤ +10 %'}`,
    )
    console.log(
      `  median of the per-round ratios: process ${paired(perReqUs, name).toFixed(3)}, main thread ${paired(mainUs, name).toFixed(3)}`,
    )
    if (name !== 'control')
      console.log(
        `  median of the per-round ratios to the mean of off and control: process ${pairedBoth(perReqUs, name).toFixed(3)}, main thread ${pairedBoth(mainUs, name).toFixed(3)}`,
      )
  }
}

try {
  await main()
  await Promise.all(running.splice(0).map((s) => s.stop()))
  if (args.profile) {
    for (const name of args.processes ? TARGETS : ['wattline']) {
      const profDir = join(dir, `prof-${name}`)
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
      if (file === undefined) continue
      console.log(`\n${name}: hot spots (self time, node --cpu-prof, whole run):`)
      for (const h of hotSpots(join(profDir, file), 25))
        console.log(`  ${h.selfPct.toFixed(1).padStart(5)} %  ${h.name}`)
    }
  }
} finally {
  await Promise.all(running.splice(0).map((s) => s.stop()))
  rmSync(dir, { recursive: true, force: true })
}

/**
 * Per-request allocation and CPU of `wattline serve` (issue 13, docs/benchmarks.md "Per-request
 * allocation (issue 13)"), for one source tree or several side by side (A/B: e.g. a clean
 * `git worktree add /tmp/wt-base HEAD` against the working tree):
 *
 *   node --import tsx bench/gateway/alloc-profile.ts [options] [TREE ...]
 *
 * Each TREE (a repository root; default: this one; `floor`: bench:gateway's bare fastify + undici
 * proxy, bench/gateway/bare-proxy.ts, for the allocation no gateway can avoid) runs `wattline serve` with the bench:gateway
 * config (carbon-aware routing, modelled meter, SQLite ledger, every feature on) against the fast
 * stub upstream of this repository, the gateway pinned to CPU 0, stub and wrk to CPU 1.
 *
 * 1. Allocation: under V8's sampling heap profiler (bench/gateway/heap-sampler.mjs), objects the
 *    GC already collected included, during `--seconds` of closed-loop load after a 3 s warm-up:
 *    bytes allocated per request in all, per function (self) and per innermost Wattline frame
 *    (the first `packages/` function on the stack: the site in our code that caused it, callees in
 *    node and libraries included), the trees side by side. The profiler slows the server a lot:
 *    read bytes per request from it, never time.
 * 2. CPU (`--cpu-rounds N`, default 0): N rounds, the trees in alternating order, each a fresh
 *    process without the profiler: main-thread and whole-process CPU µs per request (/proc) over
 *    `--cpu-seconds` of load, and the young-generation GC (`--trace-gc-nvp`): its pauses per
 *    request, and what each scavenge found alive (copied) and moved to the old generation
 *    (promoted). A scavenge's cost follows what survives it, not what was allocated. Each round's
 *    whole `--trace-gc-nvp` log (every phase of every collection) is kept in the out dir as
 *    `cpu<tree>-<round>.gc`.
 *
 * Options: --seconds S (default 4; 0 = no allocation profile), --top K rows (default 25), --cpu-rounds N, --cpu-seconds S
 * (default 6), --connections C (default 32), --interval B (the profiler's mean sampling interval,
 * bytes, default 256), --out DIR (the raw profiles, default a temp dir).
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort, pinned, start, waitReady, type Started } from './processes.ts'
import { runLoad } from './wrk.ts'
import { processCpuMs } from '../proc-cpu.ts'
import { benchGatewayConfigIn, MODEL, serveArgs, startFastUpstream } from './bench-setup.ts'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '4' },
    top: { type: 'string', default: '25' },
    'cpu-rounds': { type: 'string', default: '0' },
    'cpu-seconds': { type: 'string', default: '6' },
    connections: { type: 'string', default: '32' },
    interval: { type: 'string', default: '256' },
    out: { type: 'string' },
  },
})

const REPO = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
const SAMPLER = new URL('./heap-sampler.mjs', import.meta.url).pathname
const BODY = JSON.stringify({
  model: MODEL,
  messages: [{ role: 'user', content: 'Say hello' }],
  max_tokens: 16,
})
/** The tree name that runs bench:gateway's bare fastify + undici floor instead of Wattline. */
const FLOOR = 'floor'
const trees = (positionals.length === 0 ? [REPO] : positionals).map((t) =>
  t === FLOOR ? FLOOR : resolve(t),
)
const dir = args.out ?? mkdtempSync(join(tmpdir(), 'alloc-profile-'))
const connections = Number(args.connections)

interface HeapNode {
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
  readonly selfSize: number
  readonly children?: readonly HeapNode[]
}

/** A frame's name, its file relative to the tree (so that trees compare), 1-based line. */
function frameName(cf: HeapNode['callFrame'], tree: string): string {
  let url = cf.url.replace(/^file:\/\//, '')
  // A worktree's node_modules (and so @wattline/core) may be links into this repository.
  for (const root of [tree, REPO]) if (url.startsWith(root + '/')) url = url.slice(root.length + 1)
  url = url
    .replace(/^packages\/wattline\/src\//, '')
    .replace(/^packages\//, '')
    .replace(/^.*node_modules\//, '')
  return `${cf.functionName === '' ? '(anon)' : cf.functionName} ${url}:${String(cf.lineNumber + 1)}`
}

interface Allocation {
  readonly totalB: number
  readonly self: Map<string, number>
  readonly ours: Map<string, number>
  /** By the innermost Wattline frame's file: steadier than by function (V8 inlining moves bytes between a file's functions, and between the pipeline's awaiting frames). */
  readonly files: Map<string, number>
}

/** Bytes per function (self) and per innermost Wattline frame, for `requests` requests. */
function aggregate(file: string, tree: string, requests: number): Allocation {
  const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head
  const self = new Map<string, number>()
  const ours = new Map<string, number>()
  const files = new Map<string, number>()
  let total = 0
  const walk = (n: HeapNode, inner: string): void => {
    const ownCode =
      n.callFrame.url.includes('/packages/') && !n.callFrame.url.includes('node_modules')
    const name = frameName(n.callFrame, tree)
    const site = ownCode ? name : inner
    if (n.selfSize > 0) {
      total += n.selfSize
      self.set(name, (self.get(name) ?? 0) + n.selfSize / requests)
      ours.set(site, (ours.get(site) ?? 0) + n.selfSize / requests)
      const file =
        site === '(no Wattline frame)' ? site : site.replace(/^\S+ /, '').replace(/:\d+$/, '')
      files.set(file, (files.get(file) ?? 0) + n.selfSize / requests)
    }
    for (const c of n.children ?? []) walk(c, site)
  }
  walk(head, '(no Wattline frame)')
  return { totalB: total / requests, self, ours, files }
}

/** The gateway config of bench:gateway, its ledger in `dir`. */
function configFor(name: string, upstreamPort: number): string {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, benchGatewayConfigIn(dir, name, upstreamPort))
  return file
}

async function serve(
  tree: string,
  name: string,
  upstreamPort: number,
  flags: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ s: Started; url: string }> {
  const port = await freePort()
  const node = [process.execPath, ...flags, '--import', 'tsx']
  const argv =
    tree === FLOOR
      ? [
          ...node,
          join(REPO, 'bench/gateway/bare-proxy.ts'),
          String(port),
          `http://127.0.0.1:${String(upstreamPort)}/v1`,
        ]
      : [
          ...node,
          join(tree, 'packages/wattline/src/cli/main.ts'),
          ...serveArgs(configFor(name, upstreamPort), port),
        ]
  const s = start(pinned('0', argv), { ...process.env, ...env })
  await waitReady(
    `http://127.0.0.1:${String(port)}/${tree === FLOOR ? 'healthz' : 'readyz'}`,
    60_000,
    s,
  )
  const url = `http://127.0.0.1:${String(port)}/v1/chat/completions`
  await runLoad({ url, body: BODY, connections, durationS: 3, cpus: '1', dir })
  return { s, url }
}

const short = (tree: string, i: number): string =>
  `${String.fromCharCode(65 + i)}=${tree === REPO ? '.' : tree}`

async function allocation(tree: string, i: number, upstreamPort: number): Promise<Allocation> {
  const out = join(dir, `heap-${String(i)}.json`)
  const { s, url } = await serve(
    tree,
    `heap${String(i)}`,
    upstreamPort,
    ['--enable-source-maps', '--import', SAMPLER],
    { HEAP_OUT: out, HEAP_INTERVAL: args.interval },
  )
  try {
    const pid = s.child.pid as number
    process.kill(pid, 'SIGUSR2')
    await new Promise((r) => setTimeout(r, 300))
    const load = await runLoad({
      url,
      body: BODY,
      connections,
      durationS: Number(args.seconds),
      cpus: '1',
      dir,
    })
    process.kill(pid, 'SIGUSR2')
    for (let t = 0; t < 100 && !existsSync(out); t++) await new Promise((r) => setTimeout(r, 100))
    await new Promise((r) => setTimeout(r, 300))
    writeFileSync(`${out}.requests`, String(load.requests))
    return aggregate(out, tree, load.requests)
  } finally {
    await s.stop()
  }
}

async function cpu(tree: string, i: number, round: number, upstreamPort: number): Promise<string> {
  const { s, url } = await serve(
    tree,
    `cpu${String(i)}-${String(round)}`,
    upstreamPort,
    ['--trace-gc-nvp'],
    {},
  )
  try {
    const pid = s.child.pid as number
    let gc = ''
    const onGc = (b: Buffer): void => {
      gc += b.toString()
    }
    s.child.stdout?.on('data', onGc)
    const m0 = processCpuMs(pid, true)
    const p0 = processCpuMs(pid)
    const load = await runLoad({
      url,
      body: BODY,
      connections,
      durationS: Number(args['cpu-seconds']),
      cpus: '1',
      dir,
    })
    const m1 = processCpuMs(pid, true)
    const p1 = processCpuMs(pid)
    s.child.stdout?.off('data', onGc)
    writeFileSync(join(dir, `cpu${String(i)}-${String(round)}.gc`), gc) // every phase of every GC
    const n = load.requests
    let scavenges = 0
    let pauseMs = 0
    let survivedB = 0
    let promotedB = 0
    for (const line of gc.split('\n')) {
      if (!line.includes(' gc=s ')) continue
      scavenges++
      const field = (name: string): number =>
        Number(new RegExp(` ${name}=([\\d.]+)`).exec(line)?.[1] ?? 0)
      pauseMs += field('pause')
      survivedB += field('new_space_survived')
      promotedB += field('promoted')
    }
    const each = (b: number): string => `${(b / Math.max(1, scavenges) / 1024).toFixed(0)} kB`
    return (
      `main ${(((m1 - m0) * 1000) / n).toFixed(1)} µs/req, process ${(((p1 - p0) * 1000) / n).toFixed(1)} µs/req, ` +
      `${load.rps.toFixed(0)} req/s; ${String(scavenges)} scavenges, ${((pauseMs * 1000) / n).toFixed(2)} µs/req, ` +
      `each: survived ${each(survivedB)}, promoted ${each(promotedB)} (${(promotedB / n).toFixed(0)} B/req)`
    )
  } finally {
    await s.stop()
  }
}

const { port: upstreamPort, started: stub } = await startFastUpstream('1')
try {
  trees.forEach((t, i) => console.log(short(t, i)))
  const allocs: Allocation[] = []
  // --seconds 0: no allocation profile (CPU rounds only)
  if (Number(args.seconds) > 0)
    for (const [i, t] of trees.entries()) allocs.push(await allocation(t, i, upstreamPort))
  const top = Number(args.top)
  const cols = (m: (a: Allocation) => Map<string, number>, key: string): string =>
    allocs.map((a) => (m(a).get(key) ?? 0).toFixed(0).padStart(8)).join('')
  const table = (title: string, m: (a: Allocation) => Map<string, number>): void => {
    const keys = new Map<string, number>()
    for (const a of allocs) for (const [k, v] of m(a)) keys.set(k, Math.max(keys.get(k) ?? 0, v))
    console.log(
      `\n-- ${title}, bytes/request (${trees.map((_, i) => String.fromCharCode(65 + i)).join(' | ')})`,
    )
    for (const [k] of [...keys].sort((x, y) => y[1] - x[1]).slice(0, top))
      console.log(`${cols(m, k)}  ${k}`)
  }
  if (allocs.length > 0)
    console.log(
      `\nallocated per request (all): ${allocs.map((a, i) => `${String.fromCharCode(65 + i)} ${a.totalB.toFixed(0)} B`).join(', ')}`,
    )
  if (allocs.length > 0) {
    table('innermost Wattline file', (a) => a.files)
    table('innermost Wattline frame', (a) => a.ours)
    table('self', (a) => a.self)
  }
  const rounds = Number(args['cpu-rounds'])
  for (let r = 0; r < rounds; r++) {
    const order = trees.map((t, i) => [t, i] as const)
    if (r % 2 === 1) order.reverse()
    for (const [t, i] of order)
      console.log(
        `cpu round ${String(r)} ${String.fromCharCode(65 + i)}: ${await cpu(t, i, r, upstreamPort)}`,
      )
  }
  console.log(`\nprofiles in ${dir}`)
} finally {
  await stub.stop()
}

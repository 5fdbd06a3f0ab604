/**
 * Line-level CPU profile of `wattline serve` under load (issue 13): which lines of the gateway's
 * own functions the CPU samples fall on.
 *
 *   node --import tsx bench/gateway/line-profile.ts [--seconds S] [--top K] [--lines L]
 *     [--cache] [--interval US] [--json FILE] [TREE]
 *
 * tsx runs TypeScript as one-line code (esbuild's whitespace minification), so a `--cpu-prof`
 * profile's line ticks all read line 1. Here the CLI is first bundled with esbuild, unminified,
 * into TREE/packages/wattline/dist/line-profile/main.mjs (`dist/` is git-ignored; npm packages and @wattline/core
 * stay outside the bundle, loaded through tsx as usual; `import.meta.url` is pinned to the ledger
 * writer's module so that it finds its worker thread), then run like bench:gateway's Wattline
 * (the bench:gateway config, pinned to CPU 0, the fast stub and wrk on CPU 1) under
 * `node --cpu-prof` for S seconds (default 8) of closed-loop load after a 3 s warm-up. It prints
 * the K (default 12) bundled functions with the most self time and, for each, its L (default 5)
 * hottest lines with their share of the function's samples and their source (type-stripped).
 * Self time of a line includes what V8 inlined into it (builtins such as `JSON.parse` included).
 *
 * Every request is a `temperature: 0` chat completion with a prompt never sent before (wrk numbers
 * them). `--cache` turns the service's response cache on (memory store): a cache at 0 % hits.
 * `--interval US` is the profiler's sampling interval (default 1000 µs; 100 for finer figures).
 * `--json FILE` writes every function of the profile (node, npm, core and the bundle, self time)
 * in µs per request, so that two runs (e.g. with and without `--cache`) can be subtracted. A
 * profile spans the start-up too: module compilation shows up, divided by the requests.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { freePort, pinned, start, waitReady } from './processes.ts'
import { runLoad } from './wrk.ts'
import { benchGatewayConfig, MODEL, serveArgs, startFastUpstream } from './bench-setup.ts'

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '8' },
    top: { type: 'string', default: '12' },
    lines: { type: 'string', default: '5' },
    cache: { type: 'boolean', default: false },
    interval: { type: 'string', default: '1000' },
    json: { type: 'string' },
  },
})

const REPO = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')
const tree = resolve(positionals[0] ?? REPO)
const dir = mkdtempSync(join(tmpdir(), 'line-profile-'))

const outDir = join(tree, 'packages/wattline/dist/line-profile')
mkdirSync(outDir, { recursive: true })
const bundle = join(outDir, 'main.mjs')
await build({
  entryPoints: [join(tree, 'packages/wattline/src/cli/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: bundle,
  packages: 'external',
  external: ['@wattline/core', '@wattline/core/*'],
  define: {
    'import.meta.url': JSON.stringify(
      pathToFileURL(join(tree, 'packages/wattline/src/adapters/storage/ledger-writer-thread.ts'))
        .href,
    ),
  },
  logLevel: 'warning',
})

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string }
  readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[]
}

const { port: upstreamPort, started: stub } = await startFastUpstream('1')
const profDir = join(dir, 'prof')
try {
  const config = join(dir, 'wattline.yaml')
  writeFileSync(
    config,
    benchGatewayConfig(upstreamPort, join(dir, 'ledger.db'), { cache: args.cache }),
  )
  const port = await freePort()
  const s = start(
    pinned('0', [
      process.execPath,
      '--cpu-prof',
      `--cpu-prof-dir=${profDir}`,
      `--cpu-prof-interval=${args.interval}`,
      '--import',
      'tsx',
      bundle,
      ...serveArgs(config, port),
    ]),
  )
  const url = `http://127.0.0.1:${String(port)}/v1/chat/completions`
  const bodyOf = (load: string): string =>
    JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: `Say hello, ${load} prompt ` }],
      max_tokens: 16,
      temperature: 0,
    })
  // every prompt new (wrk numbers them, the two loads' texts differ): with --cache, 0 % hits
  const uniqueAfter = 'prompt '
  let requests = 0
  try {
    await waitReady(`http://127.0.0.1:${String(port)}/readyz`, 60_000, s)
    const warm = bodyOf('warm-up')
    await runLoad({ url, body: warm, uniqueAfter, connections: 32, durationS: 3, cpus: '1', dir })
    const load = await runLoad({
      url,
      body: bodyOf('profiled'),
      uniqueAfter,
      connections: 32,
      durationS: Number(args.seconds),
      cpus: '1',
      dir,
    })
    console.log(
      `${load.rps.toFixed(0)} req/s, ${String(load.requests)} requests under the profiler`,
    )
    requests = load.requests
  } finally {
    await s.stop()
  }
  // the main thread's profile is the largest (the ledger writer thread writes its own)
  const file = readdirSync(profDir)
    .map((f) => join(profDir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0]
  if (file === undefined) throw new Error('no profile written')
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Node[]
    samples: number[]
    timeDeltas: number[]
  }
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) =>
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  )
  const totalUs = profile.timeDeltas.reduce((a, b) => a + b, 0)
  const source = readFileSync(bundle, 'utf8').split('\n')
  const bundleUrl = pathToFileURL(bundle).href
  const byFunction = new Map<string, { us: number; lines: Map<number, number> }>()
  for (const n of profile.nodes) {
    if (n.callFrame.url !== bundleUrl) continue
    const name = n.callFrame.functionName === '' ? '(anonymous)' : n.callFrame.functionName
    const f = byFunction.get(name) ?? { us: 0, lines: new Map<number, number>() }
    f.us += selfUs.get(n.id) ?? 0
    for (const t of n.positionTicks ?? []) f.lines.set(t.line, (f.lines.get(t.line) ?? 0) + t.ticks)
    byFunction.set(name, f)
  }
  const perRequest = (us: number): string => (us / Math.max(1, requests)).toFixed(3)
  if (args.json !== undefined) {
    // every function of the profile (node, npm, core and the bundle), µs per request
    const all = new Map<string, number>()
    for (const n of profile.nodes) {
      const file = n.callFrame.url.replace(/^.*\/(node_modules|packages)\//, '$1/')
      const name = `${n.callFrame.functionName || '(anonymous)'} ${file}`
      all.set(name, (all.get(name) ?? 0) + (selfUs.get(n.id) ?? 0) / requests)
    }
    writeFileSync(args.json, JSON.stringify({ requests, functions: Object.fromEntries(all) }))
  }
  const top = [...byFunction].sort((a, b) => b[1].us - a[1].us).slice(0, Number(args.top))
  for (const [name, f] of top) {
    const ticks = [...f.lines.values()].reduce((a, b) => a + b, 0)
    console.log(
      `\n${((100 * f.us) / totalUs).toFixed(2)} % of the main thread, ${perRequest(f.us)} µs/request  ${name}`,
    )
    for (const [line, t] of [...f.lines].sort((a, b) => b[1] - a[1]).slice(0, Number(args.lines)))
      console.log(
        `  ${((100 * t) / Math.max(1, ticks)).toFixed(0).padStart(3)} %  ${(source[line - 1] ?? '').trim().slice(0, 110)}`,
      )
  }
} finally {
  await stub.stop()
  rmSync(outDir, { recursive: true, force: true })
}

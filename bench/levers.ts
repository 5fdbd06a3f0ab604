/**
 * `npm run bench:levers`: what the in-region energy levers (response cache, prefix affinity,
 * occupancy shaping) save in `wattline replay`, each lever's contribution measured by replaying the
 * trace with and without it, side by side with the `do-nothing` baseline (round-robin, no lever) in
 * the same run.
 *
 * 1. Single region (examples/single-region.fleet.yaml: six H100 backends in DE) on the Mooncake
 *    trace in ../shared/data (its hash_ids give prompt identity): do-nothing vs round-robin and
 *    least-loaded with --levers cache,prefix,occupancy. Target: ≥ 25 % less energy, no more SLO
 *    misses.
 * 2. Several zones (examples/eu.fleet.yaml, 2023 Electricity Maps hourly data): do-nothing,
 *    carbon-aware, and carbon-aware with the levers: routing and levers stack.
 *
 * Needs ../shared/data; prints a notice and exits 0 without it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { runCli } from '../packages/wattline/src/cli/program.ts'

const ROOT = resolve(import.meta.dirname, '..')
const DATA = resolve(ROOT, '../shared/data')
const MOONCAKE = join(DATA, 'mooncake-fast25/synthetic_trace.jsonl')
const CARBON = [
  join(DATA, 'electricitymaps-hourly/2023'),
  join(DATA, 'electricitymaps-hourly-extra'),
]

interface PolicyJson {
  name: string
  energy_kwh: number
  carbon_kg: number
  slo_violations: number
  latency_ms: { p95: number }
  levers?: { savings: { lever: string; energy_saved_kwh: number; detail: string }[] }
}

async function replay(args: string[]): Promise<PolicyJson[]> {
  const dir = mkdtempSync(join(tmpdir(), 'wl-bench-levers-'))
  try {
    const out = join(dir, 'r.json')
    const err: string[] = []
    const code = await runCli(['replay', ...args, '--json', out], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err.push(s), true) },
      env: {},
      cwd: ROOT,
    } as never)
    if (code !== 0) throw new Error(`replay exited ${code}: ${err.join('')}`)
    return (JSON.parse(readFileSync(out, 'utf8')) as { policies: PolicyJson[] }).policies
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function print(title: string, rows: PolicyJson[]): void {
  const base = rows[0] as PolicyJson
  console.log(`\n${title}`)
  console.log(
    'policy                         energy kWh  ratio   carbon kg  ratio   p95 ms  SLO misses',
  )
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(30)} ${r.energy_kwh.toFixed(4).padStart(10)}  ${(r.energy_kwh / base.energy_kwh).toFixed(3)}  ${r.carbon_kg.toFixed(4).padStart(9)}  ${(r.carbon_kg / base.carbon_kg).toFixed(3)}  ${r.latency_ms.p95.toFixed(0).padStart(6)}  ${r.slo_violations}`,
    )
    for (const l of r.levers?.savings ?? [])
      console.log(
        `    ${l.lever.padEnd(10)} saved ${l.energy_saved_kwh.toFixed(4)} kWh = ${((l.energy_saved_kwh / base.energy_kwh) * 100).toFixed(1)} % of do-nothing (${l.detail})`,
      )
  }
}

if (!existsSync(MOONCAKE)) {
  console.log('bench:levers SKIPPED: ../shared/data/mooncake-fast25 not found')
  process.exit(0)
}
const common = ['--trace', MOONCAKE, '--start', '2023-07-15T12:00:00Z']
const single = await replay([
  ...common,
  '--fleet',
  'examples/single-region.fleet.yaml',
  '--policies',
  'do-nothing,round-robin,least-loaded',
  '--levers',
  'cache,prefix,occupancy',
])
print('1. single region (DE, 6 × H100), Mooncake trace: levers vs do-nothing', single)
const carbonArgs = ['--fleet', 'examples/eu.fleet.yaml', '--carbon', CARBON.join(',')]
const routed = await replay([...common, ...carbonArgs, '--policies', 'do-nothing,carbon-aware'])
const stacked = await replay([
  ...common,
  ...carbonArgs,
  '--policies',
  'do-nothing,carbon-aware',
  '--levers',
  'cache,prefix,occupancy',
])
print('2. four zones (EU), Mooncake trace: carbon-aware routing, then routing + levers', [
  routed[0] as PolicyJson,
  routed[1] as PolicyJson,
  { ...(stacked[1] as PolicyJson), name: 'carbon-aware + levers' },
])

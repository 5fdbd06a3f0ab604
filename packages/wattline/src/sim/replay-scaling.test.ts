import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runCli } from '../cli/program.ts'
import { captureIo } from '../cli/run-cli.test-support.ts'

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url))
const io = () => captureIo({ cwd: FIXTURES })
// The 6-request Azure sample at 20× its rate, stretched over one diurnal day (the grid fixture
// covers 2023-06-01/02): the peak needs several replicas of the tiny fleet.
const BASE = [
  'replay',
  '--trace',
  'azure-small.csv',
  '--fleet',
  'tiny.fleet.yaml',
  '--carbon',
  'grid',
  '--policies',
  'round-robin',
  '--diurnal-days',
  '1',
  '--time-scale',
  '0.05',
]

interface ScalingJson {
  pools: { id: string; static_peak_replicas: number; min_replicas: number; cold_start_s: number }[]
  policies: {
    name: string
    requests: number
    energy_kwh: number
    idle_share: number
    carbon_kg: number
    replica_hours: number
    cold_starts: number
    slo_misses: number
    replicas_per_window: Record<string, number[]>
  }[]
}

describe('wattline replay --scaling', () => {
  it('replays the right-sizing policies on the pools: table, JSON and a replicas chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-scaling-'))
    const t = io()
    const code = await runCli(
      [
        ...BASE,
        '--scaling',
        'static-peak,reactive,predictive,energy-optimal',
        '--json',
        join(dir, 'r.json'),
        '--html',
        join(dir, 'r.html'),
      ],
      t.io,
    )
    expect(t.err()).toBe('')
    expect(code).toBe(0)
    expect(t.out()).toMatch(/Right-sizing[\s\S]*static-peak[\s\S]*energy-optimal/)
    const json = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { scaling: ScalingJson }
    const s = json.scaling
    expect(s.pools.map((p) => p.id)).toEqual(['frankfurt', 'oslo'])
    expect(s.policies.map((p) => p.name)).toEqual([
      'static-peak',
      'reactive',
      'predictive',
      'energy-optimal',
    ])
    const by = Object.fromEntries(s.policies.map((p) => [p.name, p]))
    const flat = by['static-peak']!
    const opt = by['energy-optimal']!
    // Every policy serves the same measured day of requests.
    for (const p of s.policies) expect(p.requests).toBe(flat.requests)
    expect(flat.requests).toBeGreaterThan(10_000)
    // The peak fleet never scales: its replica-hours are its size × 24 h per pool.
    expect(flat.cold_starts).toBe(0)
    const peakSum = s.pools.reduce((a, p) => a + p.static_peak_replicas, 0)
    expect(flat.replica_hours).toBeCloseTo(peakSum * 24, 1)
    // Right-sizing through the night uses less energy and fewer replica-hours.
    expect(opt.energy_kwh).toBeLessThan(flat.energy_kwh)
    expect(opt.replica_hours).toBeLessThan(flat.replica_hours)
    expect(opt.carbon_kg).toBeGreaterThan(0)
    expect(opt.replicas_per_window['frankfurt']!.length).toBe(24 * 60)
    expect(new Set(opt.replicas_per_window['frankfurt']).size).toBeGreaterThan(1)
    const html = readFileSync(join(dir, 'r.html'), 'utf8')
    expect(html).toMatch(/<h2>Right-sizing<\/h2>[\s\S]*<svg[\s\S]*Serving replicas per 60-s window/)
  })

  it('exits 2 on an unknown scaling policy and on a pool with no SLO to plan for', async () => {
    const bad = io()
    expect(await runCli([...BASE, '--scaling', 'static-peak,energy-optimum'], bad.io)).toBe(2)
    expect(bad.err()).toMatch(/--scaling: expected names from static-peak, reactive/)
    const dir = mkdtempSync(join(tmpdir(), 'wl-scaling-'))
    writeFileSync(
      join(dir, 'no-slo.fleet.yaml'),
      readFileSync(join(FIXTURES, 'tiny.fleet.yaml'), 'utf8').replace(
        '    slo:\n      p95_latency_ms: 4000\n',
        '',
      ),
    )
    const none = io()
    const args = [...BASE, '--scaling', 'static-peak']
    args[4] = join(dir, 'no-slo.fleet.yaml')
    expect(await runCli(args, none.io)).toBe(2)
    expect(none.err()).toMatch(/backend "frankfurt" has no service with an SLO/)
  })

  it('honours the fleet file’s replica range: min_replicas 0 scales to zero, max_replicas caps', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-scaling-'))
    writeFileSync(
      join(dir, 'range.fleet.yaml'),
      readFileSync(join(FIXTURES, 'tiny.fleet.yaml'), 'utf8').replace(
        '    max_concurrency: 8\n    pue: 1.2\n',
        '    max_concurrency: 8\n    pue: 1.2\n    min_replicas: 0\n    max_replicas: 1\n    cold_start_s: 30\n',
      ),
    )
    const t = io()
    const args = [...BASE, '--scaling', 'static-peak,energy-optimal', '--json', '-']
    args[4] = join(dir, 'range.fleet.yaml')
    expect(await runCli(args, t.io)).toBe(0)
    const s = (JSON.parse(t.out()) as { scaling: ScalingJson }).scaling
    expect(s.pools[0]).toMatchObject({ id: 'frankfurt', min_replicas: 0, cold_start_s: 30 })
    const fr = s.policies[1]!.replicas_per_window['frankfurt']!
    expect(Math.max(...fr)).toBeLessThanOrEqual(1)
    const bad = io()
    writeFileSync(
      join(dir, 'bad.fleet.yaml'),
      readFileSync(join(dir, 'range.fleet.yaml'), 'utf8').replace(
        'max_replicas: 1',
        'max_replicas: 0',
      ),
    )
    args[4] = join(dir, 'bad.fleet.yaml')
    expect(await runCli(args, bad.io)).toBe(2)
    expect(bad.err()).toMatch(/max_replicas/)
  })
})

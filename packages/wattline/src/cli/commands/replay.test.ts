import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runCli } from '../program.ts'
import { captureIo, type CapturedIo } from '../run-cli.test-support.ts'

const FIXTURES = fileURLToPath(new URL('../../sim/fixtures', import.meta.url))

const io = (cwd = FIXTURES): CapturedIo => captureIo({ cwd })

const BASE = [
  'replay',
  '--trace',
  'azure-small.csv',
  '--fleet',
  'tiny.fleet.yaml',
  '--carbon',
  'grid',
]

describe('wattline replay', () => {
  it('prints the policies side by side and writes JSON in the documented shape and an HTML report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-replay-'))
    const t = io()
    const code = await runCli(
      [...BASE, '--json', join(dir, 'r.json'), '--html', join(dir, 'r.html')],
      t.io,
    )
    expect(t.err()).toBe('')
    expect(code).toBe(0)
    expect(t.out()).toMatch(
      /round-robin[\s\S]*least-loaded[\s\S]*carbon-aware[\s\S]*oracle \(bound\)/,
    )
    const json = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as {
      policies: Record<string, unknown>[]
      oracle: { status: string }
    }
    expect(json.policies.map((p) => p['name'])).toEqual([
      'round-robin',
      'least-loaded',
      'carbon-aware',
      'oracle',
    ])
    for (const p of json.policies) {
      expect(p).toMatchObject({
        requests: 6,
        energy_kwh: expect.any(Number),
        idle_energy_kwh: expect.any(Number),
        carbon_kg: expect.any(Number),
        latency_ms: { p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) },
        slo_violations: expect.any(Number),
      })
    }
    expect(json.oracle.status).toBe('optimal')
    // The oracle is a lower bound on every policy's carbon.
    const carbon = Object.fromEntries(
      json.policies.map((p) => [p['name'], p['carbon_kg'] as number]),
    )
    for (const name of ['round-robin', 'least-loaded', 'carbon-aware'])
      expect(carbon['oracle']!).toBeLessThanOrEqual(carbon[name]!)
    // Carbon-aware sends more of the load to the clean zone than round-robin does.
    const share = (name: string) =>
      (
        json.policies.find((p) => p['name'] === name)!['zones'] as Record<
          string,
          { request_share: number }
        >
      )['NO']!.request_share
    expect(share('carbon-aware')).toBeGreaterThan(share('round-robin'))
    const html = readFileSync(join(dir, 'r.html'), 'utf8')
    expect(html).toMatch(
      /<svg[\s\S]*Latency CDF[\s\S]*Share of requests served per zone|Share of requests[\s\S]*Latency CDF/,
    )
    expect((html.match(/<svg /g) ?? []).length).toBe(2 + 4)
  })

  it('is deterministic: the same inputs and seed give byte-identical JSON', async () => {
    const a = io()
    const b = io()
    expect(await runCli([...BASE, '--json', '-', '--seed', '42'], a.io)).toBe(0)
    expect(await runCli([...BASE, '--json', '-', '--seed', '42'], b.io)).toBe(0)
    expect(a.out()).toBe(b.out())
    expect(a.out().length).toBeGreaterThan(500)
  })

  it('replays a relative trace placed with --start, and generic traces naming services and clients', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-replay-'))
    const fleet = readFileSync(join(FIXTURES, 'tiny.fleet.yaml'), 'utf8')
      .replace('  - region: eu-west', '  - region: eu-west')
      .replace('services:\n', 'services:\n  - name: code\n    model: llama-3.1-8b-instruct\n')
      .replace('    location: NO\n', '    location: NO\n')
    writeFileSync(join(dir, 'two.fleet.yaml'), fleet)
    const t = io()
    const code = await runCli(
      [
        'replay',
        '--trace',
        join(FIXTURES, 'generic-small.jsonl'),
        '--fleet',
        join(dir, 'two.fleet.yaml'),
        '--carbon',
        join(FIXTURES, 'grid'),
        '--start',
        '2023-06-01T20:00:00Z',
        '--policies',
        'round-robin,carbon-aware',
        '--json',
        '-',
      ],
      t.io,
    )
    expect(t.err()).toBe('')
    expect(code).toBe(0)
    const json = JSON.parse(t.out()) as { start: string; policies: { requests: number }[] }
    expect(json.start).toBe('2023-06-01T20:00:00.000Z')
    expect(json.policies[0]!.requests).toBe(4)
  })

  it('exits 2 with file and line on a malformed trace, and counts skipped lines with --lenient', async () => {
    const bad = io()
    expect(
      await runCli(
        [
          'replay',
          '--trace',
          'azure-malformed.csv',
          '--fleet',
          'tiny.fleet.yaml',
          '--carbon',
          'grid',
        ],
        bad.io,
      ),
    ).toBe(2)
    expect(bad.err()).toMatch(/WL_TRACE_FORMAT: .*azure-malformed\.csv:4: ContextTokens/)
    const lenient = io()
    expect(
      await runCli(
        [
          'replay',
          '--trace',
          'azure-malformed.csv',
          '--fleet',
          'tiny.fleet.yaml',
          '--carbon',
          'grid',
          '--lenient',
          '--policies',
          'round-robin',
        ],
        lenient.io,
      ),
    ).toBe(0)
    expect(lenient.out()).toMatch(/2 malformed trace lines skipped/)
  })

  it('exits 2 on an unknown hardware (with its line), an unknown policy, a trace outside the grid data', async () => {
    const hw = io()
    expect(
      await runCli(
        [
          'replay',
          '--trace',
          'azure-small.csv',
          '--fleet',
          'bad-hardware.fleet.yaml',
          '--carbon',
          'grid',
        ],
        hw.io,
      ),
    ).toBe(2)
    expect(hw.err()).toMatch(
      /WL_UNKNOWN_HARDWARE: .*bad-hardware\.fleet\.yaml:15:5 backends\[1\]\.hardware/,
    )
    const pol = io()
    expect(await runCli([...BASE, '--policies', 'round-robin,greedy'], pol.io)).toBe(2)
    expect(pol.err()).toMatch(/--policies: expected names from/)
    const late = io()
    expect(await runCli([...BASE, '--start', '2023-09-01T00:00:00Z'], late.io)).toBe(2)
    expect(late.err()).toMatch(/WL_NO_INTENSITY_DATA: .*zone DE.*--start/)
    const src = io()
    expect(await runCli([...BASE.slice(0, -1), 'nowhere'], src.io)).toBe(2)
    expect(src.err()).toMatch(/--carbon nowhere/)
  })

  it('exits 2 when the fleet names a zone the carbon data lacks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-replay-'))
    writeFileSync(
      join(dir, 'z.fleet.yaml'),
      readFileSync(join(FIXTURES, 'tiny.fleet.yaml'), 'utf8').replace(
        'zone: NO',
        'zone: SE\n    latency_location: NO',
      ),
    )
    const t = io()
    expect(
      await runCli([...BASE.slice(0, 4), join(dir, 'z.fleet.yaml'), '--carbon', 'grid'], t.io),
    ).toBe(2)
    expect(t.err()).toMatch(
      /WL_UNKNOWN_ZONE: .*z\.fleet\.yaml:28:5 backends\[1\]\.zone: zone "SE" has no data/,
    )
  })
})

describe('wattline replay --config (the gateway config as the fleet)', () => {
  const EXAMPLE = fileURLToPath(new URL('../../../../../examples/wattline.yaml', import.meta.url))
  const TRACE = ['replay', '--trace', 'azure-small.csv', '--carbon', 'static']
  const shares = (json: string): Record<string, Record<string, number>> => {
    const r = JSON.parse(json) as {
      policies: { name: string; zones: Record<string, { request_share: number }> }[]
    }
    return Object.fromEntries(
      r.policies.map((p) => [
        p.name,
        Object.fromEntries(Object.entries(p.zones).map(([z, v]) => [z, v.request_share])),
      ]),
    )
  }

  it('replays examples/wattline.yaml; --fleet with the same file gives the same JSON', async () => {
    const a = io()
    expect(await runCli([...TRACE, '--config', EXAMPLE, '--json', '-'], a.io)).toBe(0)
    expect(a.err()).toBe('')
    const b = io()
    expect(await runCli([...TRACE, '--fleet', EXAMPLE, '--json', '-'], b.io)).toBe(0)
    expect(b.out()).toBe(a.out())
    const json = JSON.parse(a.out()) as { policies: { name: string; requests: number }[] }
    expect(json.policies.map((p) => [p.name, p.requests])).toEqual([
      ['round-robin', 6],
      ['least-loaded', 6],
      ['carbon-aware', 6],
      ['oracle', 6],
    ])
    // Zones come from the config (frankfurt's region maps to DE).
    expect(Object.keys(shares(a.out())['round-robin']!).sort()).toEqual(['DE', 'FR', 'PL'])
    // The service's budget (energy_per_1k_requests_wh, baseline 120, pilot: target 96, +5 %).
    const budgets = (JSON.parse(a.out()) as { policies: { budgets: Record<string, unknown>[] }[] })
      .policies[0]!.budgets
    expect(budgets).toEqual([
      {
        service: 'chat',
        metric: 'energy_per_1k_requests_wh',
        unit: 'Wh per 1,000 requests',
        value: expect.any(Number),
        target: 96,
        limit: 100.8,
        within: true,
      },
    ])
  })

  it('reports a budget a policy misses as OVER (table) and within: false (JSON)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-replay-'))
    writeFileSync(
      join(dir, 'tight.yaml'),
      readFileSync(EXAMPLE, 'utf8').replace('baseline: 120', 'baseline: 1'),
    )
    const t = io()
    expect(await runCli([...TRACE, '--config', join(dir, 'tight.yaml')], t.io)).toBe(0)
    expect(t.out()).toMatch(
      /budget chat: energy_per_1k_requests_wh \(Wh per 1,000 requests\) target 0\.8000, limit 0\.8400 — round-robin [\d.]+ OVER/,
    )
    const j = io()
    expect(await runCli([...TRACE, '--config', join(dir, 'tight.yaml'), '--json', '-'], j.io)).toBe(
      0,
    )
    const r = JSON.parse(j.out()) as {
      policies: { budgets: { value: number; within: boolean }[] }[]
    }
    for (const p of r.policies) {
      expect(p.budgets[0]!.within).toBe(false)
      expect(p.budgets[0]!.value).toBeGreaterThan(0.84)
    }
  })

  it("takes the config's carbon: section when --carbon is not given", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-replay-'))
    writeFileSync(
      join(dir, 'dirty-fr.yaml'),
      readFileSync(EXAMPLE, 'utf8').replace(
        '    - type: static # the built-in table: annual mean + typical hourly profile per zone\n',
        '    - { type: static, values: { FR: 900, DE: 10, PL: 800 } }\n',
      ),
    )
    const own = io()
    const noCarbon = [
      'replay',
      '--trace',
      'azure-small.csv',
      '--config',
      join(dir, 'dirty-fr.yaml'),
    ]
    expect(await runCli([...noCarbon, '--json', '-', '--policies', 'carbon-aware'], own.io)).toBe(0)
    expect(shares(own.out())['carbon-aware']).toEqual({ FR: 0, DE: 1, PL: 0 })
    // --carbon still wins: the built-in table (FR cleanest) sends the traffic elsewhere.
    const flag = io()
    const withFlag = [...TRACE, '--config', join(dir, 'dirty-fr.yaml'), '--json', '-']
    expect(await runCli([...withFlag, '--policies', 'carbon-aware'], flag.io)).toBe(0)
    expect(shares(flag.out())['carbon-aware']?.['DE']).toBeLessThan(1)
  })

  it("uses the config's weights and service backend lists", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-replay-'))
    const config = readFileSync(EXAMPLE, 'utf8')
      .replace('    pue: 1.2\n', '    pue: 1.2\n    weight: 0\n')
      .replace('  - id: warsaw\n', '  - id: warsaw\n    weight: 0\n')
    writeFileSync(join(dir, 'weights.yaml'), config)
    const w = io()
    const args = [...TRACE, '--config', join(dir, 'weights.yaml'), '--json', '-']
    expect(await runCli([...args, '--policies', 'weighted'], w.io)).toBe(0)
    expect(shares(w.out())['weighted']).toEqual({ FR: 0, DE: 1, PL: 0 })
    writeFileSync(
      join(dir, 'only-pl.yaml'),
      readFileSync(EXAMPLE, 'utf8').replace(
        '    routing: carbon-aware\n',
        '    routing: carbon-aware\n    backends: [warsaw]\n',
      ),
    )
    const pl = io()
    const only = [...TRACE, '--config', join(dir, 'only-pl.yaml'), '--json', '-']
    expect(await runCli([...only, '--policies', 'carbon-aware,oracle'], pl.io)).toBe(0)
    expect(shares(pl.out())['carbon-aware']).toEqual({ FR: 0, DE: 0, PL: 1 })
    expect(shares(pl.out())['oracle']).toEqual({ FR: 0, DE: 0, PL: 1 })
  })

  it('exits 2 without a fleet, with both flags, and on an invalid config (file and line)', async () => {
    const none = io()
    expect(await runCli(TRACE, none.io)).toBe(2)
    expect(none.err()).toMatch(/give exactly one of --fleet <file> or --config <wattline.yaml>/)
    const both = io()
    expect(
      await runCli([...TRACE, '--config', EXAMPLE, '--fleet', 'tiny.fleet.yaml'], both.io),
    ).toBe(2)
    const dir = mkdtempSync(join(tmpdir(), 'wl-replay-'))
    writeFileSync(
      join(dir, 'bad.yaml'),
      readFileSync(EXAMPLE, 'utf8').replace('hardware: A100-80GB', 'hardware: A1OO'),
    )
    const bad = io()
    expect(await runCli([...TRACE, '--config', join(dir, 'bad.yaml')], bad.io)).toBe(2)
    expect(bad.err()).toMatch(/WL_CONFIG_INVALID: [\s\S]*bad\.yaml:\d+:\d+ backends\[2\]\.hardware/)
  })
})

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

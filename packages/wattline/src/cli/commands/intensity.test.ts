import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

const dir = mkdtempSync(join(tmpdir(), 'wattline-intensity-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
writeFileSync(
  join(dir, 'grid.csv'),
  'zone,datetime,intensity_g_per_kwh\nFR,2025-01-01T00:00:00Z,50\nFR,2025-01-01T01:00:00Z,30\nFR,2025-01-01T02:00:00Z,40\n',
)
writeFileSync(
  join(dir, 'bad.csv'),
  'zone,datetime,intensity_g_per_kwh\nFR,2025-01-01T00:00:00Z,50\nFR,not-a-date,30\n',
)
writeFileSync(
  join(dir, 'grid.json'),
  JSON.stringify([{ zone: 'NL', datetime: '2025-01-01T00:00:00Z', intensity_g_per_kwh: 310 }]),
)
writeFileSync(join(dir, 'mystery.txt'), 'hello\n')

/** A gateway config whose carbon section lists `sources` (YAML flow items). */
const configYaml = (sources: string[]): string => `carbon:
  signal: average
  sources:
${sources.map((s) => `    - ${s}`).join('\n')}
services:
  - name: chat
    default: true
backends:
  - id: paris
    url: http://127.0.0.1:9101/v1
    zone: FR
    hardware: H100-SXM
    models: [llama-3.1-8b-instruct]
`
writeFileSync(
  join(dir, 'wattline.yaml'),
  configYaml(['{type: csv, path: grid.csv}', '{type: json, path: grid.json}', '{type: static}']),
)
writeFileSync(
  join(dir, 'em.yaml'),
  configYaml(['{type: electricitymaps, api_key_env: EM_TEST_KEY}']),
)
writeFileSync(join(dir, 'broken.yaml'), configYaml(['{type: csv}']))

const run = (args: string[]): Promise<CliRun> => runCaptured(args, { cwd: dir })

describe('wattline intensity', () => {
  it('answers one instant from the built-in table in the documented JSON shape', async () => {
    const r = await run(['intensity', '--zone', 'de', '--at', '2025-06-01T12:30:00Z', '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out) as Record<string, unknown>
    expect(Object.keys(j)).toEqual(
      expect.arrayContaining(['zone', 'at', 'intensity_g_per_kwh', 'signal', 'source', 'stale']),
    )
    expect(j).toMatchObject({
      zone: 'DE',
      at: '2025-06-01T12:00:00.000Z',
      signal: 'average',
      stale: false,
      provenance: 'static',
    })
    expect(j['intensity_g_per_kwh']).toBeGreaterThan(50)
  })

  it('resolves a cloud region to its zone', async () => {
    const r = await run([
      'intensity',
      '--region',
      'gcp:europe-west4',
      '--at',
      '2025-01-01T00:00:00Z',
      '--json',
    ])
    expect(JSON.parse(r.out)).toMatchObject({ zone: 'NL', region: 'gcp:europe-west4' })
  })

  it('gives a window with points, mean and greenest hour', async () => {
    const r = await run([
      'intensity',
      '--zone',
      'FR',
      '--from',
      '2025-01-01T00:00:00Z',
      '--to',
      '2025-01-01T03:00:00Z',
      '--source',
      'grid.csv',
      '--json',
    ])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out) as {
      points: unknown[]
      mean_g_per_kwh: number
      greenest_hour: { start: string; intensity_g_per_kwh: number }
    }
    expect(j.points).toHaveLength(3)
    expect(j.mean_g_per_kwh).toBe(40)
    expect(j.greenest_hour).toMatchObject({
      start: '2025-01-01T01:00:00.000Z',
      intensity_g_per_kwh: 30,
    })
  })

  it('auto-detects a JSON file and prints text without --json', async () => {
    const r = await run([
      'intensity',
      '--zone',
      'NL',
      '--at',
      '2025-01-01T00:10:00Z',
      '--source',
      'grid.json',
    ])
    expect(r.code).toBe(0)
    expect(r.out).toContain('310.0 gCO2e/kWh')
  })

  it('exits 2 with close matches for an unknown zone or region', async () => {
    const z = await run(['intensity', '--zone', 'US-CAL-CIS', '--json'])
    expect(z.code).toBe(2)
    expect(z.err).toContain('WL_UNKNOWN_ZONE')
    expect(z.err).toContain('US-CAL-CISO')
    const g = await run(['intensity', '--region', 'aws:eu-centrl-1'])
    expect(g.code).toBe(2)
    expect(g.err).toContain('aws:eu-central-1')
  })

  it('exits 2 naming file, line and column of a malformed data file', async () => {
    const r = await run([
      'intensity',
      '--zone',
      'FR',
      '--at',
      '2025-01-01T00:00:00Z',
      '--source',
      'bad.csv',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toContain(`${join(dir, 'bad.csv')}:3:4`)
  })

  it('exits 2 on bad flags', async () => {
    expect((await run(['intensity'])).code).toBe(2)
    expect((await run(['intensity', '--zone', 'DE', '--region', 'aws:eu-central-1'])).code).toBe(2)
    expect((await run(['intensity', '--zone', 'DE', '--from', '2025-01-01T00:00:00Z'])).code).toBe(
      2,
    )
    expect((await run(['intensity', '--zone', 'DE', '--at', 'yesterday'])).code).toBe(2)
    expect((await run(['intensity', '--zone', 'DE', '--source', 'nope'])).code).toBe(2)
    const mystery = await run(['intensity', '--zone', 'DE', '--source', 'mystery.txt'])
    expect(mystery.code).toBe(2)
    expect(mystery.err).toContain('unrecognised intensity file')
  })
})

describe('wattline intensity --config', () => {
  it('looks up through the configured sources, in the documented JSON shape', async () => {
    const r = await run([
      'intensity',
      '--zone',
      'FR',
      '--at',
      '2025-01-01T01:30:00Z',
      '--config',
      'wattline.yaml',
      '--json',
    ])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out) as Record<string, unknown>
    expect(Object.keys(j)).toEqual(
      expect.arrayContaining(['zone', 'at', 'intensity_g_per_kwh', 'signal', 'source', 'stale']),
    )
    expect(j).toMatchObject({
      zone: 'FR',
      at: '2025-01-01T01:00:00.000Z',
      intensity_g_per_kwh: 30,
      signal: 'average',
      stale: false,
      provenance: 'live',
    })
    expect(String(j['source'])).toContain('grid.csv')
    // The second configured source answers for a zone the first does not know.
    const nl = await run([
      'intensity',
      '--zone',
      'NL',
      '--at',
      '2025-01-01T00:10:00Z',
      '--config',
      'wattline.yaml',
      '--json',
    ])
    expect(JSON.parse(nl.out)).toMatchObject({ zone: 'NL', intensity_g_per_kwh: 310 })
  })

  it('narrows to the configured sources of one type with --source NAME', async () => {
    const args = ['intensity', '--zone', 'NL', '--at', '2025-01-01T00:10:00Z', '--json']
    const json = await run([...args, '--config', 'wattline.yaml', '--source', 'json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.out)).toMatchObject({ intensity_g_per_kwh: 310, provenance: 'live' })
    expect(String((JSON.parse(json.out) as { source: string }).source)).toContain('grid.json')
    // The csv source knows only FR: NL comes from the static table, and says so.
    const csv = await run([...args, '--config', 'wattline.yaml', '--source', 'csv'])
    expect(csv.code).toBe(0)
    const c = JSON.parse(csv.out) as { intensity_g_per_kwh: number; provenance: string }
    expect(c.provenance).toBe('static')
    expect(c.intensity_g_per_kwh).not.toBe(310)
    const range = await run([
      'intensity',
      '--zone',
      'FR',
      '--from',
      '2025-01-01T00:00:00Z',
      '--to',
      '2025-01-01T03:00:00Z',
      '--config',
      'wattline.yaml',
      '--source',
      'csv',
      '--json',
    ])
    expect(JSON.parse(range.out)).toMatchObject({ mean_g_per_kwh: 40 })
  })

  it('exits 2 naming what is wrong: unconfigured type, missing secret, invalid config', async () => {
    const args = ['intensity', '--zone', 'FR', '--at', '2025-01-01T00:00:00Z']
    const unconfigured = await run([...args, '--config', 'wattline.yaml', '--source', 'watttime'])
    expect(unconfigured.code).toBe(2)
    expect(unconfigured.err).toContain('carbon.sources: csv, json, static')
    // Without --config an API kind is opened as a spec: its key comes from the documented variable.
    const noConfig = await run([...args, '--source', 'electricitymaps'])
    expect(noConfig.code).toBe(2)
    expect(noConfig.err).toContain('WL_CONFIG_INVALID')
    expect(noConfig.err).toContain('ELECTRICITYMAPS_API_KEY')
    const badSpec = await run([...args, '--source', 'nope'])
    expect(badSpec.code).toBe(2)
    expect(badSpec.err).toMatch(
      /WL_INVALID_INPUT: --source nope: .*valid kinds: builtin, static, csv/,
    )
    const secret = await run([...args, '--config', 'em.yaml'])
    expect(secret.code).toBe(2)
    expect(secret.err).toContain('WL_CONFIG_INVALID')
    expect(secret.err).toContain('EM_TEST_KEY')
    const broken = await run([...args, '--config', 'broken.yaml'])
    expect(broken.code).toBe(2)
    expect(broken.err).toMatch(/broken\.yaml:\d+:\d+ carbon\.sources\[0\]/)
    const missing = await run([...args, '--config', 'absent.yaml'])
    expect(missing.code).toBe(2)
    expect(missing.err).toContain('cannot read config file')
  })
})

describe('wattline zones', () => {
  it('lists zones with annual mean, basis, source and cloud regions', async () => {
    const r = await run(['zones', '--json'])
    expect(r.code).toBe(0)
    const rows = JSON.parse(r.out) as {
      zone: string
      basis: string
      annual_mean_g_per_kwh: number
      source: string
      regions: string[]
      aliases: string[]
    }[]
    expect(rows.filter((x) => x.basis === 'hourly-derived')).toHaveLength(18)
    const de = rows.find((x) => x.zone === 'DE')
    expect(de?.regions).toContain('aws:eu-central-1')
    expect(de?.aliases).toContain('DE-LU')
    const fr = rows.find((x) => x.zone === 'FR')
    expect(fr).toMatchObject({ basis: 'annual-figure' })
    expect(fr?.source).toContain('region-carbon-info 2023')
    const text = await run(['zones'])
    expect(text.out).toContain('US-NW-PACW')
  })
})

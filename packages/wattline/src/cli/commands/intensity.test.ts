import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../program.ts'
import type { CliIo } from '../io.ts'

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

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: CliIo = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: dir,
    stopSignal: new AbortController().signal,
  }
  const code = await runCli(args, io)
  return { code, out, err }
}

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

import { describe, expect, it } from 'vitest'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

const run = (args: string[]): Promise<CliRun> => runCaptured(args)

const BASE = ['estimate', '--model', 'llama-3.1-8b-instruct', '--hardware', 'H100-SXM']
const TOKENS = ['--input-tokens', '500', '--output-tokens', '300']

interface Report {
  energy_j: { value: number; low: number; high: number }
  carbon_g: { value: number; low: number; high: number } | null
  method: string
  source: string
  model: string
  hardware: string
  batch: number
  profile_basis: string
  zone: string | null
  intensity_g_per_kwh: number | null
}

describe('wattline estimate', () => {
  it('prints the documented JSON shape, with carbon null without a zone', async () => {
    const r = await run([...BASE, ...TOKENS, '--batch', '16', '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out) as Report
    expect(Object.keys(j)).toEqual(
      expect.arrayContaining([
        'energy_j',
        'carbon_g',
        'method',
        'source',
        'model',
        'hardware',
        'batch',
      ]),
    )
    expect(j.carbon_g).toBeNull()
    expect(j.model).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(j.hardware).toBe('H100-SXM')
    expect(j.batch).toBe(16)
    expect(j.method).toBe('modelled')
    expect(j.profile_basis).toBe('fitted')
    expect(j.energy_j.low).toBeLessThan(j.energy_j.value)
    expect(j.energy_j.high).toBeGreaterThan(j.energy_j.value)
    expect(j.source).toContain('mlenergy-benchmark-v3')
  })

  it('adds carbon from the zone intensity at --at, and PUE scales energy', async () => {
    const at = ['--zone', 'DE', '--at', '2023-06-01T12:00:00Z']
    const a = JSON.parse((await run([...BASE, ...TOKENS, ...at, '--json'])).out) as Report
    const b = JSON.parse(
      (await run([...BASE, ...TOKENS, ...at, '--pue', '1.5', '--json'])).out,
    ) as Report
    expect(a.zone).toBe('DE')
    expect(a.intensity_g_per_kwh).toBeGreaterThan(0)
    const expected = (a.energy_j.value / 3_600_000) * (a.intensity_g_per_kwh ?? 0)
    expect(a.carbon_g?.value).toBeCloseTo(expected, 12)
    expect(b.energy_j.value).toBeCloseTo(a.energy_j.value * 1.5, 9)
  })

  it('maps a cloud region to its zone', async () => {
    const r = await run([
      ...BASE,
      ...TOKENS,
      '--region',
      'aws:eu-central-1',
      '--at',
      '2023-01-15T08:00:00Z',
      '--json',
    ])
    expect(r.code).toBe(0)
    expect((JSON.parse(r.out) as Report).zone).toBe('DE')
  })

  it('estimates an uncatalogued model from --active-params-b', async () => {
    const r = await run([
      'estimate',
      '--model',
      'acme/internal-20b',
      '--hardware',
      'L40S',
      ...TOKENS,
      '--active-params-b',
      '20',
      '--json',
    ])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.out) as Report
    expect(j.profile_basis).toBe('parametric')
    expect(j.source).toContain('20 B active params')
  })

  it('prints a readable table with units, method and source', async () => {
    const r = await run([...BASE, ...TOKENS, '--zone', 'FR', '--at', '2023-03-01T00:00:00Z'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^energy\s+[\d.]+ J {2}\([\d.]+ – [\d.]+\)/m)
    expect(r.out).toMatch(/^carbon\s+[\d.e-]+ gCO2e/m)
    expect(r.out).toMatch(/^method\s+modelled, fitted profile/m)
    expect(r.out).toMatch(/^source\s+fitted: mlenergy-benchmark-v3/m)
  })

  it('exits 2 with close matches for an unknown model, hardware or zone', async () => {
    const m = await run([
      'estimate',
      '--model',
      'llama-3.1-8b-instrukt',
      '--hardware',
      'H100',
      ...TOKENS,
    ])
    expect(m.code).toBe(2)
    expect(m.err).toContain('WL_UNKNOWN_MODEL')
    expect(m.err).toContain('meta-llama/Llama-3.1-8B-Instruct')
    const h = await run(['estimate', '--model', 'llama-3.1-8b', '--hardware', 'H10-SXM', ...TOKENS])
    expect(h.code).toBe(2)
    expect(h.err).toContain('WL_UNKNOWN_HARDWARE')
    expect(h.err).toContain('H100-SXM')
    // A run-together part number is not a spelling of H100-SXM (issue 10): the known list.
    const r = await run(['estimate', '--model', 'llama-3.1-8b', '--hardware', 'H100SXM', ...TOKENS])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(
      /WL_UNKNOWN_HARDWARE: unknown hardware "H100SXM"; did you mean H100-SXM.*\(known: A100-40GB, .*B200/,
    )
    const z = await run([...BASE, ...TOKENS, '--zone', 'DEE'])
    expect(z.code).toBe(2)
    expect(z.err).toContain('WL_UNKNOWN_ZONE')
    expect(z.err).toContain('DE')
  })

  it('exits 2 on malformed flags', async () => {
    for (const extra of [
      ['--batch', '0'],
      ['--pue', 'abc'],
      ['--precision', 'fp7'],
      ['--zone', 'DE', '--region', 'aws:eu-central-1'],
      ['--zone', 'DE', '--at', 'yesterday'],
    ]) {
      const r = await run([...BASE, ...TOKENS, ...extra])
      expect(r.code, extra.join(' ')).toBe(2)
    }
    const missing = await run([...BASE, '--input-tokens', '5'])
    expect(missing.code).toBe(2)
  })
})

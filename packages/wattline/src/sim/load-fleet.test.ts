import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { checkFleetZones, loadFleet, parseFleet, readLatencyMatrix } from './load-fleet.ts'

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const SHARED = fileURLToPath(new URL('../../../../../shared/data', import.meta.url))
const hasSharedData = existsSync(SHARED)
if (!hasSharedData) console.warn(`[skip] load-fleet latency-matrix test: ${SHARED} is absent`)

async function failure(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p
  } catch (e) {
    return e as { code: string; message: string; details: Record<string, unknown> }
  }
  throw new Error('expected a rejection')
}

const minimal = (backends: string, extra = ''): string => `services:
  - name: chat
    model: llama-3.1-8b-instruct
clients:
  - region: eu
    share: 1
    location: DE
latency:
  default_ms: 10
${extra}backends:
${backends}`

describe('loadFleet', () => {
  it('resolves the tiny fleet: zones, profiles, normalised shares, the latency matrix', async () => {
    const fleet = await loadFleet(fixture('tiny.fleet.yaml'))
    expect(fleet.name).toBe('tiny')
    expect(
      fleet.backends.map((b) => [b.id, b.zone, b.hardware, b.replicas, b.maxConcurrency, b.pue]),
    ).toEqual([
      ['frankfurt', 'DE', 'H100-SXM', 1, 8, 1.2],
      ['oslo', 'NO', 'A100-80GB', 1, 8, 1.1],
    ])
    expect(fleet.backends[0]!.profile.timePerOutputToken(1)).toBeGreaterThan(0)
    expect(fleet.clients.map((c) => c.share)).toEqual([0.6, 0.4])
    expect(fleet.services[0]).toMatchObject({ name: 'chat', share: 1, sloMs: 4000 })
    // DE→DE 2, DE→NO 25, NO→DE 25 (symmetric), NO→NO 2.
    expect(Array.from(fleet.networkRttMs)).toEqual([2, 25, 25, 2])
  })

  it('points at the line and field of an unknown hardware, with close matches', async () => {
    const err = await failure(loadFleet(fixture('bad-hardware.fleet.yaml')))
    expect(err.code).toBe('WL_UNKNOWN_HARDWARE')
    expect(err.message).toMatch(
      /bad-hardware\.fleet\.yaml:15:5 backends\[1\]\.hardware: unknown hardware "H1OO"/,
    )
    expect(err.details).toMatchObject({ line: 15, field: 'backends[1].hardware' })
    expect(err.message).toMatch(/H100-SXM/)
  })

  it('maps a cloud region to its zone and reports an unknown one at its line', async () => {
    const ok = await parseFleet(
      minimal(`  - id: a
    region: aws:eu-central-1
    hardware: H100-SXM
    model: llama-3.1-8b-instruct
`),
      'f.yaml',
    )
    expect(ok.backends[0]).toMatchObject({ zone: 'DE', region: 'aws:eu-central-1', location: 'DE' })
    const err = await failure(
      parseFleet(
        minimal(`  - id: a
    region: aws:mars-north-1
    hardware: H100-SXM
    model: llama-3.1-8b-instruct
`),
        'f.yaml',
      ),
    )
    expect(err.code).toBe('WL_UNKNOWN_REGION')
    expect(err.message).toMatch(/^f\.yaml:12:5 backends\[0\]\.region:/)
  })

  it('lists every schema problem with its line', async () => {
    const err = await failure(
      parseFleet(
        minimal(`  - id: a
    zone: DE
    hardware: H100-SXM
    model: llama-3.1-8b-instruct
    replicas: 0
    pue: 0.5
`),
        'f.yaml',
      ),
    )
    expect(err.code).toBe('WL_CONFIG_INVALID')
    expect(err.message).toMatch(/f\.yaml:15:5 backends\[0\]\.replicas:/)
    expect(err.message).toMatch(/f\.yaml:16:5 backends\[0\]\.pue:/)
    expect(err.details).toMatchObject({ file: 'f.yaml', line: 15, field: 'backends[0].replicas' })
  })

  it('reports YAML syntax errors with line and column', async () => {
    const err = await failure(parseFleet('services: [\n  - a: b\n', 'f.yaml'))
    expect(err.code).toBe('WL_CONFIG_INVALID')
    expect(err.message).toMatch(/^f\.yaml:\d+:\d+: /)
  })

  it('refuses duplicates, a service nobody serves and a missing latency pair', async () => {
    const backend = `  - id: a
    zone: DE
    hardware: H100-SXM
    model: llama-3.1-8b-instruct
`
    const dup = await failure(parseFleet(minimal(backend + backend), 'f.yaml'))
    expect(dup.message).toMatch(/backends\[1\]\.id: duplicate backend id/)
    const noModel = await failure(
      parseFleet(
        minimal(backend).replace(
          'model: llama-3.1-8b-instruct\nclients',
          'model: llama-3.1-70b-instruct\nclients',
        ),
        'f.yaml',
      ),
    )
    expect(noModel.message).toMatch(
      /f\.yaml:3:5 services\[0\]\.model: no backend serves model "llama-3.1-70b-instruct"/,
    )
    const noLatency = await failure(
      parseFleet(
        minimal(backend.replace('DE', 'FR')).replace('  default_ms: 10\n', '  symmetric: true\n'),
        'f.yaml',
      ),
    )
    expect(noLatency.message).toMatch(/no latency from "DE" to backend a at "FR"/)
  })

  it('names the line of a zone the carbon data does not cover', async () => {
    const fleet = await loadFleet(fixture('tiny.fleet.yaml'))
    expect(() => checkFleetZones(fleet, ['DE', 'NO'], 'grid')).not.toThrow()
    try {
      checkFleetZones(fleet, ['DE', 'NL', 'NO-NO1'], 'grid')
      expect.unreachable()
    } catch (e) {
      const err = e as { code: string; message: string; details: Record<string, unknown> }
      expect(err.code).toBe('WL_UNKNOWN_ZONE')
      expect(err.message).toMatch(
        /tiny\.fleet\.yaml:28:5 backends\[1\]\.zone: zone "NO" has no data in grid/,
      )
      expect(err.details['matches']).toContain('NO-NO1')
    }
  })

  it.skipIf(!hasSharedData)(
    'reads the GCP inter-region latency matrix from shared data',
    async () => {
      const m = await readLatencyMatrix(
        `${SHARED}/cloud-region-latency-and-zones/gcp_latency_matrix.csv`,
      )
      expect(m.get('DE')?.get('GB')).toBeGreaterThan(0)
      expect(m.get('TW')?.get('TW')).toBe(5)
      expect(m.get('US-CAL-CISO')?.get('US-MIDA-PJM')).toBeGreaterThan(30)
    },
  )

  it('reports a malformed latency cell with file, line and column', async () => {
    const err = await failure(
      readLatencyMatrix('m.csv', () => Promise.resolve('origin,A,B\nA,1,2\nB,x,1\n')),
    )
    expect(err.code).toBe('WL_DATA_FORMAT')
    expect(err.message).toBe('m.csv:3:3: invalid latency "x" (ms)')
  })
})

describe('loadFleet: the gateway routing settings', () => {
  const two = `  - id: a
    zone: DE
    hardware: H100-SXM
    model: llama-3.1-8b-instruct
    weight: 3
  - id: b
    zone: DE
    hardware: A100-80GB
    model: llama-3.1-8b-instruct
`
  it('reads backend weights (default 1), carbon tolerance (default 5 %) and service backend lists', async () => {
    const text = minimal(two).replace(
      '    model: llama-3.1-8b-instruct\nclients',
      '    model: llama-3.1-8b-instruct\n    carbon_tolerance_pct: 12\n    backends: [b]\n  - name: bulk\n    model: llama-3.1-8b-instruct\nclients',
    )
    const fleet = await parseFleet(text, 'w.fleet.yaml')
    expect(fleet.backends.map((b) => b.weight)).toEqual([3, 1])
    expect(fleet.services.map((s) => [s.name, s.carbonTolerancePct, s.backends])).toEqual([
      ['chat', 12, ['b']],
      ['bulk', 5, undefined],
    ])
    expect(fleet.backends[0]!.models).toEqual(['llama-3.1-8b-instruct'])
    expect(fleet.backends[0]!.profiles.get('llama-3.1-8b-instruct')).toBe(
      fleet.backends[0]!.profile,
    )
  })

  it('refuses a service backend list naming an unknown backend, at its line', async () => {
    const text = minimal(two).replace(
      '    model: llama-3.1-8b-instruct\nclients',
      '    model: llama-3.1-8b-instruct\n    backends: [a, zz]\nclients',
    )
    const e = await failure(parseFleet(text, 'w.fleet.yaml'))
    expect(e.code).toBe('WL_CONFIG_INVALID')
    expect(e.message).toMatch(
      /^w\.fleet\.yaml:4:\d+ services\[0\]\.backends\[1\]: unknown backend "zz"/,
    )
  })

  it('refuses a negative weight and a tolerance over 100 %', async () => {
    const text = minimal(two.replace('weight: 3', 'weight: -1')).replace(
      '    model: llama-3.1-8b-instruct\nclients',
      '    model: llama-3.1-8b-instruct\n    carbon_tolerance_pct: 140\nclients',
    )
    const e = await failure(parseFleet(text, 'w.fleet.yaml'))
    expect(e.code).toBe('WL_CONFIG_INVALID')
    expect(e.message).toMatch(/services\[0\]\.carbon_tolerance_pct/)
    expect(e.message).toMatch(/backends\[0\]\.weight/)
  })
})

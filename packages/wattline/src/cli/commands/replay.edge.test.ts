import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { estimateRequestBytes } from '@wattline/core'
import { runCli } from '../program.ts'
import { captureIo } from '../run-cli.test-support.ts'

const FIXTURES = fileURLToPath(new URL('../../sim/fixtures', import.meta.url))

/** A cloud H100 in DE and four Jetson AGX Orin modules on the clients' premises. */
function fleet(opts: { edge: boolean; network?: string; edgeExtra?: string }): string {
  return `name: edge-vs-cloud
services:
  - name: chat
    model: qwen3-8b
    slo:
      p95_latency_ms: 120000
clients:
  - region: office
    share: 1
    location: office
latency:
  matrix:
    office: { DE: 20, office: 1 }
backends:
  - id: frankfurt
    zone: DE
    hardware: H100-SXM
    model: qwen3-8b
    replicas: 1
    max_concurrency: 8
    pue: 1.2
${
  opts.edge
    ? `  - id: office-orin
    zone: DE
    hardware: Jetson-AGX-Orin-64GB
    placement: edge
    model: qwen3-8b
    replicas: 4
    latency_location: office
${opts.edgeExtra ?? ''}`
    : ''
}${opts.network ?? ''}`
}

interface PolicyJson {
  name: string
  energy_kwh: number
  placements: {
    placement: string
    devices: number
    requests: number
    energy_kwh: number
    idle_energy_kwh: number
    energy_per_device_kwh: number
    energy_per_1k_requests_wh: number | null
  }[]
  network?: {
    bytes: number
    energy_kwh: number
    kwh_per_gb: number
    source: string
    same_premises_requests: number
    gb_km: number | null
    by_placement: { placement: string; bytes: number; energy_kwh: number }[]
  }
}

async function replay(
  fleetText: string,
): Promise<{ code: number; out: string; err: string; json?: PolicyJson[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'wl-edge-'))
  const file = join(dir, 'edge.fleet.yaml')
  writeFileSync(file, fleetText)
  const t = captureIo({ cwd: FIXTURES })
  const code = await runCli(
    [
      'replay',
      '--trace',
      'azure-small.csv',
      '--fleet',
      file,
      '--carbon',
      'grid',
      '--policies',
      'round-robin',
      '--json',
      join(dir, 'r.json'),
    ],
    t.io,
  )
  if (code !== 0) return { code, out: t.out(), err: t.err() }
  const json = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as { policies: PolicyJson[] }
  return { code, out: t.out(), err: t.err(), json: json.policies }
}

/** The trace's requests: [input, output] tokens (azure-small.csv). */
const TRACE: readonly [number, number][] = [
  [500, 40],
  [1200, 12],
  [300, 200],
  [2048, 64],
  [64, 8],
  [900, 150],
]

describe('replay with edge and cloud backends', () => {
  it('replays the edge example fleet', async () => {
    const text = readFileSync(
      fileURLToPath(new URL('../../../../../examples/edge.fleet.yaml', import.meta.url)),
      'utf8',
    )
    const r = await replay(text)
    expect(r.err).toBe('')
    expect(r.json?.[0]?.placements.map((x) => [x.placement, x.devices])).toEqual([
      ['cloud', 1],
      ['edge', 4],
    ])
  })

  it('reports energy per placement: less in the data centre, the modules on their own', async () => {
    const cloudOnly = await replay(fleet({ edge: false }))
    const mixed = await replay(fleet({ edge: true }))
    expect(mixed.err).toBe('')
    expect(mixed.code).toBe(0)
    const c = cloudOnly.json?.[0]
    const m = mixed.json?.[0]
    expect(c?.placements.map((x) => x.placement)).toEqual(['cloud'])
    expect(m?.placements.map((x) => x.placement)).toEqual(['cloud', 'edge'])
    const cloud = m?.placements[0]
    const edge = m?.placements[1]
    if (c === undefined || cloud === undefined || edge === undefined) return
    // Round-robin sends some requests to the modules: data-centre energy goes down.
    expect(edge.requests).toBeGreaterThan(0)
    expect(cloud.requests + edge.requests).toBe(6)
    // Busy energy (the window, and so idle energy, grows with the slower modules' last answer).
    const busy = (x: { energy_kwh: number; idle_energy_kwh: number }) =>
      x.energy_kwh - x.idle_energy_kwh
    expect(busy(cloud)).toBeLessThan(busy(c.placements[0]!))
    // Four modules, each powered (idle at least) for the whole replay, no PUE.
    expect(edge.devices).toBe(4)
    expect(edge.idle_energy_kwh).toBeGreaterThan(0)
    expect(edge.energy_per_device_kwh).toBeCloseTo(edge.energy_kwh / 4, 12)
    // The policy's total is the sum of the placements.
    expect(m!.energy_kwh).toBeCloseTo(cloud.energy_kwh + edge.energy_kwh, 9)
    expect(mixed.out).toMatch(/energy by placement[\s\S]*cloud[\s\S]*edge/)
  })

  it('charges network energy as bytes × kWh/GB, nothing for same-premises (0 km) pairs', async () => {
    const network = `network:
  kwh_per_gb: 0.01
  source: test coefficient
  distance_km:
    office: { office: 0, DE: 450 }
`
    const r = await replay(fleet({ edge: true, network }))
    expect(r.err).toBe('')
    const n = r.json?.[0]?.network
    expect(n).toBeDefined()
    if (n === undefined) return
    const total = TRACE.reduce((s, [i, o]) => s + estimateRequestBytes(i, o), 0)
    expect(n.bytes).toBe(Math.round(total))
    const cloud = n.by_placement.find((x) => x.placement === 'cloud')
    const edge = n.by_placement.find((x) => x.placement === 'edge')
    expect(edge?.energy_kwh).toBe(0)
    expect(n.same_premises_requests).toBe(r.json?.[0]?.placements[1]?.requests)
    // kWh = GB × kWh/GB for the cloud-served bytes only.
    expect(n.energy_kwh).toBeCloseTo(((cloud?.bytes ?? 0) / 1e9) * 0.01, 12)
    expect(n.energy_kwh).toBeGreaterThan(0)
    expect(n.gb_km).toBeCloseTo(((cloud?.bytes ?? 0) / 1e9) * 450, 9)
    expect(n.source).toBe('test coefficient')
    expect(r.out).toMatch(/network energy \(apart from compute/)
  })

  it('defaults to the Aslan et al. 2018 trend for the trace year', async () => {
    const r = await replay(fleet({ edge: false }))
    const n = r.json?.[0]?.network
    expect(n?.source).toMatch(/Aslan et al\. 2018.*extrapolated to 2023/)
    expect(n?.kwh_per_gb).toBeCloseTo(0.06 * 0.5 ** ((2023 - 2015) / 2), 12)
    expect(n?.energy_kwh).toBeCloseTo(((n?.bytes ?? 0) / 1e9) * (n?.kwh_per_gb ?? 0), 12)
  })

  it('rejects an edge backend that asks for batching or a PUE, and edge hardware placed in the cloud', async () => {
    const batching = await replay(fleet({ edge: true, edgeExtra: '    max_concurrency: 4\n' }))
    expect(batching.code).not.toBe(0)
    expect(batching.err).toMatch(
      /backends\[1\]\.max_concurrency: placement edge runs one request at a time/,
    )
    const pue = await replay(fleet({ edge: true, edgeExtra: '    pue: 1.3\n' }))
    expect(pue.err).toMatch(/backends\[1\]\.pue: placement edge runs outside a data centre/)
    const cloudOrin = await replay(fleet({ edge: true }).replace('    placement: edge\n', ''))
    expect(cloudOrin.err).toMatch(/Jetson-AGX-Orin-64GB is an edge module: set placement: edge/)
    const h100Edge = await replay(fleet({ edge: true }).replace('Jetson-AGX-Orin-64GB', 'H100-SXM'))
    expect(h100Edge.err).toMatch(
      /placement edge needs an edge module, not H100-SXM \(edge modules: Jetson-AGX-Orin-64GB, Jetson-Orin-NX-16GB\)/,
    )
    const unknown = await replay(
      fleet({ edge: true }).replace('Jetson-AGX-Orin-64GB', 'Jetson-Thor-X'),
    )
    expect(unknown.code).not.toBe(0)
    expect(unknown.err).toMatch(
      /unknown hardware "Jetson-Thor-X"[\s\S]*known: [^)]*Jetson-AGX-Orin-64GB/,
    )
  })
})

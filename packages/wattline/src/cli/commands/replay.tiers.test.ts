/**
 * `wattline replay --tiers`: quality tiers decided by core's `chooseTier` on a day of synthetic DE
 * grid data (a daily cosine around 380 gCO2e/kWh), a 70B backend and an 8B backend in DE. The
 * saving is measured against the same policy replayed with every request on the model it asked for.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../program.ts'
import { captureIo } from '../run-cli.test-support.ts'

const GRID = fileURLToPath(new URL('../../sim/fixtures/grid', import.meta.url))
const BIG = 'llama-3.1-70b-instruct'
const SMALL = 'llama-3.1-8b-instruct'
const dir = mkdtempSync(join(tmpdir(), 'wl-tiers-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** 144 requests, one every 10 minutes over 2023-06-01 (relative times: placed with --start). */
function writeTrace(): string {
  const lines = [JSON.stringify({ wattline_trace: 1, description: 'tiers test' })]
  for (let i = 0; i < 144; i++)
    lines.push(
      JSON.stringify({
        t_ms: i * 600_000,
        input_tokens: 400 + ((i * 37) % 700),
        output_tokens: 80 + ((i * 53) % 200),
      }),
    )
  const file = join(dir, 'day.jsonl')
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}
const TRACE = writeTrace()

function writeFleet(name: string, when: string, tiers = true): string {
  const file = join(dir, `${name}.fleet.yaml`)
  writeFileSync(
    file,
    `name: ${name}
services:
  - name: chat
    model: ${BIG}
    slo: { p95_latency_ms: 30000 }
${tiers ? `    tiers:\n      - model: ${BIG}\n      - model: ${SMALL}\n        when: ${when}\n` : ''}clients:
  - { region: eu, share: 1, location: DE }
backends:
  - { id: big, zone: DE, hardware: H100-SXM, model: ${BIG}, replicas: 2, max_concurrency: 16 }
  - { id: small, zone: DE, hardware: H100-SXM, model: ${SMALL}, replicas: 1, max_concurrency: 32 }
`,
  )
  return file
}

interface TiersJson {
  requests: number
  eligible: number
  downgraded: number
  downgraded_share: number
  by_reason: Record<string, number>
  by_model: { service: string; from: string; to: string; requests: number }[]
  without_tiers: { energy_kwh: number; carbon_kg: number }
  energy_saved_kwh: number
  carbon_saved_kg: number
  basis: string
}
interface PolicyJson {
  name: string
  energy_kwh: number
  carbon_kg: number
  tiers?: TiersJson
}

async function replay(
  fleet: string,
  extra: string[] = [],
): Promise<{ code: number; out: string; err: string; json: PolicyJson[] | undefined }> {
  const out = join(dir, `r-${Math.random().toString(36).slice(2)}.json`)
  const t = captureIo()
  const code = await runCli(
    [
      'replay',
      '--trace',
      TRACE,
      '--fleet',
      fleet,
      '--carbon',
      GRID,
      '--start',
      '2023-06-01T00:00:00Z',
      '--policies',
      'do-nothing,least-loaded',
      '--json',
      out,
      ...extra,
    ],
    t.io,
  )
  let json: PolicyJson[] | undefined
  if (code === 0) {
    json = (JSON.parse(readFileSync(out, 'utf8')) as { policies: PolicyJson[] }).policies
  }
  return { code, out: t.out(), err: t.err(), json }
}

describe('wattline replay --tiers', () => {
  it('downgrades the hours above the threshold and measures the saving vs the requested model', async () => {
    const html = join(dir, 'hot.html')
    const r = await replay(writeFleet('hot', '{ intensity_above_g_per_kwh: 380 }'), [
      '--tiers',
      '--html',
      html,
    ])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const [base, tiered] = r.json as PolicyJson[]
    // do-nothing is the baseline: never tiered.
    expect(base?.tiers).toBeUndefined()
    const t = tiered?.tiers as TiersJson
    expect(t.requests).toBe(144)
    expect(t.eligible).toBe(144)
    // Part of the day only: the cosine crosses 380 twice.
    expect(t.downgraded).toBeGreaterThan(20)
    expect(t.downgraded).toBeLessThan(124)
    expect(t.downgraded_share).toBeCloseTo(t.downgraded / 144, 9)
    expect(t.by_reason).toEqual({ 'opt-in': 0, intensity: t.downgraded, 'budget-pressure': 0 })
    expect(t.by_model).toEqual([{ service: 'chat', from: BIG, to: SMALL, requests: t.downgraded }])
    expect(t.basis).toBe('replay-counterfactual')
    // The saving is the tiered run against the run on the requested models.
    expect(t.energy_saved_kwh).toBeGreaterThan(0)
    expect(t.carbon_saved_kg).toBeGreaterThan(0)
    expect(t.energy_saved_kwh).toBeCloseTo(t.without_tiers.energy_kwh - tiered!.energy_kwh, 6)
    expect(t.carbon_saved_kg).toBeCloseTo(t.without_tiers.carbon_kg - tiered!.carbon_kg, 6)
    expect(r.out).toMatch(
      new RegExp(
        `least-loaded: ${t.downgraded} of 144 requests downgraded \\(${(t.downgraded_share * 100).toFixed(1)} %; opt-in 0, intensity ${t.downgraded}, budget-pressure 0\\); saved`,
      ),
    )
    const page = readFileSync(html, 'utf8')
    expect(page).toContain('<h2>Quality tiers</h2>')
    expect(page).toContain(`<td>least-loaded</td><td>${t.downgraded} / 144</td>`)
    expect(page).toContain(`${BIG} → ${SMALL}: ${t.downgraded}`)
  })

  it('downgrades about the opted-in share, and nothing when no condition holds', async () => {
    const fleet = writeFleet('calm', '{ intensity_above_g_per_kwh: 2000, opt_in: true }')
    const none = await replay(fleet, ['--tiers'])
    expect(none.code).toBe(0)
    const n = none.json?.[1]?.tiers as TiersJson
    expect(n.downgraded).toBe(0)
    expect(n.energy_saved_kwh).toBeCloseTo(0, 9)
    const eco = await replay(fleet, ['--tiers', '--tier-opt-in-pct', '25'])
    expect(eco.code).toBe(0)
    const e = eco.json?.[1]?.tiers as TiersJson
    expect(e.by_reason['opt-in']).toBe(e.downgraded)
    // 144 seeded draws at 25 %: within ±10 points.
    expect(e.downgraded_share).toBeGreaterThan(0.15)
    expect(e.downgraded_share).toBeLessThan(0.35)
    expect(e.energy_saved_kwh).toBeGreaterThan(0)
  })

  it('runs with --levers: the levers act on the tiered requests, each saving measured apart', async () => {
    const r = await replay(writeFleet('hot-levers', '{ intensity_above_g_per_kwh: 380 }'), [
      '--tiers',
      '--levers',
      'occupancy',
    ])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const p = r.json?.[1] as PolicyJson & {
      levers: { stages: { levers: string[]; energy_kwh: number; carbon_kg: number }[] }
    }
    const t = p.tiers as TiersJson
    expect(t.downgraded).toBeGreaterThan(20)
    expect(t.downgraded).toBeLessThan(124)
    const [tieredOnly, withOccupancy] = p.levers.stages
    expect(tieredOnly?.levers).toEqual([])
    expect(withOccupancy?.levers).toEqual(['occupancy'])
    // The tier saving: the run without tiers against the levers' first stage (tiers, no lever).
    expect(t.energy_saved_kwh).toBeCloseTo(t.without_tiers.energy_kwh - tieredOnly!.energy_kwh, 6)
    expect(t.carbon_saved_kg).toBeCloseTo(t.without_tiers.carbon_kg - tieredOnly!.carbon_kg, 6)
    expect(p.energy_kwh).toBeCloseTo(withOccupancy!.energy_kwh, 6)
  })

  it('refuses --tiers on a fleet without tiers, a bad tier model, and opt-in without --tiers', async () => {
    const plain = await replay(writeFleet('plain', '', false), ['--tiers'])
    expect(plain.code).toBe(2)
    expect(plain.err).toMatch(/WL_INVALID_INPUT: --tiers: no service of fleet plain declares tiers/)
    const bad = join(dir, 'bad.fleet.yaml')
    writeFileSync(
      bad,
      `services:
  - name: chat
    model: ${BIG}
    tiers:
      - model: ${BIG}
      - { model: llama-3.1-8b, when: { opt_in: true } }
clients: [{ region: eu, share: 1, location: DE }]
backends:
  - { id: big, zone: DE, hardware: H100-SXM, model: ${BIG} }
  - { id: small, zone: DE, hardware: H100-SXM, model: ${SMALL} }
`,
    )
    const b = await replay(bad, ['--tiers'])
    expect(b.code).toBe(2)
    expect(b.err).toMatch(
      /WL_CONFIG_INVALID: .*bad\.fleet\.yaml:6:\d+ services\[0\]\.tiers\[1\]\.model/,
    )
    expect(b.err).toContain(
      `(known: ${BIG}, meta-llama/Llama-3.1-70B-Instruct, ${SMALL}, meta-llama/Llama-3.1-8B-Instruct)`,
    )
    const optIn = await replay(writeFleet('x', '{ opt_in: true }'), ['--tier-opt-in-pct', '10'])
    expect(optIn.code).toBe(2)
    expect(optIn.err).toMatch(/--tier-opt-in-pct needs --tiers/)
  })

  it('judges budget pressure from a gateway config on the watch window', async () => {
    const config = join(dir, 'wattline.yaml')
    writeFileSync(
      config,
      `services:
  - name: chat
    budget:
      metric: energy_per_1k_requests_wh
      baseline: 0.001
      watch: { window_s: 3600, min_requests: 5 }
    tiers:
      - model: ${BIG}
      - { model: ${SMALL}, when: { budget_pressure: true } }
backends:
  - { id: big, url: "http://127.0.0.1:1/v1", zone: DE, hardware: H100-SXM, models: [${BIG}], max_concurrency: 32 }
  - { id: small, url: "http://127.0.0.1:2/v1", zone: DE, hardware: H100-SXM, models: [${SMALL}], max_concurrency: 32 }
`,
    )
    const t = captureIo()
    const code = await runCli(
      [
        'replay',
        '--trace',
        TRACE,
        '--config',
        config,
        '--carbon',
        GRID,
        '--start',
        '2023-06-01T00:00:00Z',
        '--policies',
        'do-nothing,least-loaded',
        '--tiers',
        '--json',
        '-',
      ],
      t.io,
    )
    expect(t.err()).toBe('')
    expect(code).toBe(0)
    const tiers = (JSON.parse(t.out()) as { policies: PolicyJson[] }).policies[1]
      ?.tiers as TiersJson
    // The budget is far below any real figure: under pressure once the window holds 5 requests.
    expect(tiers.by_reason['budget-pressure']).toBe(tiers.downgraded)
    expect(tiers.downgraded).toBe(144 - 5)
  })
})

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url))
const CONFIG = join(ROOT, 'examples/wattline.yaml')
const TRACE = join(ROOT, 'packages/wattline/src/sim/fixtures/azure-small.csv')

interface Option {
  model: string
  precision: string
  hardware: string
  gpus: number
  replicas: number
  energy_per_1k_requests_wh: { value: number; low: number; high: number }
  carbon_per_1k_requests_g: Record<string, { value: number; low: number; high: number }>
  latency_p95_ms: number
  meets_slo: boolean | null
  carries_peak: boolean
  basis: string
  source: string
  method: string
}
interface Report {
  workload: { requests: number; output_tokens: { mean: number } }
  options: Option[]
  recommended: Option | null
  extrapolated_better: Option | null
  current: (Option & { zone: string }) | null
  savings: { energy_share: number; carbon_share: number | null; gpus_delta: number } | null
  no_current_reason: string | null
}

function summary(extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'wl-advise-'))
  const file = join(dir, 'chat.yaml')
  writeFileSync(
    file,
    JSON.stringify({
      input_tokens: { mean: 900, p95: 3000 },
      output_tokens: { mean: 250, p95: 700 },
      requests_per_s_by_hour: Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 20 ? 12 : 3)),
      ...extra,
    }),
  )
  return file
}

const run = (args: string[]): Promise<CliRun> => runCaptured(['advise', ...args])
const json = (r: CliRun): Report => JSON.parse(r.out) as Report

describe('wattline advise', () => {
  it('ranks measured configurations by energy per 1k requests and beats the configured deployment', async () => {
    const r = await run([
      '--workload',
      summary(),
      '--config',
      CONFIG,
      '--zones',
      'DE,FR',
      '--slo-p95-ms',
      '60000',
      '--json',
    ])
    expect(r.code).toBe(0)
    const j = json(r)
    expect(j.options.length).toBeGreaterThan(1)
    const ok = j.options.filter((o) => o.meets_slo === true && o.carries_peak)
    const energies = ok.map((o) => o.energy_per_1k_requests_wh.value)
    expect(energies).toEqual([...energies].sort((a, b) => a - b))
    for (const o of j.options) {
      expect(o.method).toBe('modelled')
      expect(['measured', 'measured-extrapolated', 'extrapolated']).toContain(o.basis)
      expect(o.source.length).toBeGreaterThan(20)
      expect(o.energy_per_1k_requests_wh.low).toBeLessThan(o.energy_per_1k_requests_wh.value)
      expect(o.energy_per_1k_requests_wh.high).toBeGreaterThan(o.energy_per_1k_requests_wh.value)
      expect(Object.keys(o.carbon_per_1k_requests_g)).toEqual(expect.arrayContaining(['DE', 'FR']))
      expect(o.gpus).toBe(
        o.replicas * (o as unknown as { gpus_per_replica: number }).gpus_per_replica,
      )
    }
    // The config runs llama-3.1-8b on H100-SXM bf16 with max_concurrency 32 (two backends).
    expect(j.current?.model).toBe('meta-llama/Llama-3.1-8B-Instruct')
    expect(j.current?.hardware).toBe('H100-SXM')
    expect(j.current?.replicas).toBe(2)
    expect(j.recommended?.basis).not.toBe('extrapolated')
    const cur = j.current?.energy_per_1k_requests_wh.value ?? 0
    const rec = j.recommended?.energy_per_1k_requests_wh.value ?? 0
    expect(j.savings?.energy_share).toBeCloseTo(1 - rec / cur, 9)
    expect(j.savings?.carbon_share).not.toBeNull()
  })

  it('prints a readable table with the recommendation, the comparison and the sources', async () => {
    const r = await run(['--workload', summary(), '--config', CONFIG, '--zones', 'FR'])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/Wh\/1k req/)
    expect(r.out).toMatch(/^recommended {2}meta-llama\/Llama-3\.1-8B-Instruct/m)
    expect(r.out).toMatch(/^vs current {3}.*% (less|more) energy/m)
    expect(r.out).toMatch(/^now /m)
    expect(r.out).toMatch(/measured profile — fitted: mlenergy-benchmark-v3/)
  })

  it('finds the current deployment by alias', async () => {
    const j = json(
      await run(['--workload', summary(), '--config', CONFIG, '--model', 'llama-3.1-8b', '--json']),
    )
    expect(j.current?.hardware).toBe('H100-SXM')
    const none = json(
      await run([
        '--workload',
        summary(),
        '--config',
        CONFIG,
        '--model',
        'llama-3.1-70b',
        '--json',
      ]),
    )
    expect(none.current).toBeNull()
    expect(none.no_current_reason).toMatch(/has no backend serving llama-3\.1-70b/)
  })

  it('sizes from a request trace and says when no current deployment is known', async () => {
    const r = await run(['--workload', TRACE, '--model', 'llama-3.1-70b-instruct', '--json'])
    expect(r.code).toBe(0)
    const j = json(r)
    expect(j.workload.requests).toBe(6)
    expect(j.current).toBeNull()
    expect(j.no_current_reason).toMatch(/no --config/)
    expect(j.options.every((o) => o.model === 'meta-llama/Llama-3.1-70B-Instruct')).toBe(true)
  })

  it('flags an SLO no configuration meets', async () => {
    const j = json(
      await run([
        '--workload',
        summary(),
        '--model',
        'llama-3.1-8b',
        '--slo-p95-ms',
        '1',
        '--json',
      ]),
    )
    expect(j.options.every((o) => o.meets_slo === false)).toBe(true)
    expect(j.recommended).not.toBeNull()
  })

  it('labels unmeasured hardware and precisions as extrapolations and never recommends them', async () => {
    const j = json(
      await run([
        '--workload',
        summary(),
        '--model',
        'llama-3.1-8b-instruct',
        '--hardware',
        'H100,H200',
        '--precision',
        'bf16,fp8',
        '--json',
      ]),
    )
    const h200 = j.options.filter((o) => o.hardware === 'H200')
    expect(h200.length).toBe(2)
    expect(h200.every((o) => o.basis === 'extrapolated')).toBe(true)
    expect(h200.every((o) => o.source.startsWith('extrapolation — parametric'))).toBe(true)
    expect(j.recommended?.hardware).toBe('H100-SXM')
    expect(j.recommended?.precision).toBe('bf16')
  })

  it('writes an HTML page with the energy-vs-latency frontier chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-advise-html-'))
    const out = join(dir, 'advise.html')
    const r = await run(['--workload', summary(), '--config', CONFIG, '--html', out])
    expect(r.code).toBe(0)
    const html = readFileSync(out, 'utf8')
    expect(html).toContain('<svg')
    expect(html).toContain('frontier')
    expect(html).toContain('Ranked configurations')
    expect(html).toContain('current')
  })

  it('fails on unknown names with the known ones, and on a model with no measured profile', async () => {
    let r = await run(['--workload', summary(), '--model', 'llama-3.1-8b', '--hardware', 'H1000'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/WL_UNKNOWN_HARDWARE/)
    expect(r.err).toMatch(/known: .*H100-SXM/)
    r = await run(['--workload', summary(), '--model', 'gpt-17'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/WL_UNKNOWN_MODEL/)
    expect(r.err).toMatch(/models with measured profiles: .*Llama-3\.1-8B-Instruct/)
    r = await run(['--workload', summary(), '--model', 'llama-3.1-8b', '--precision', 'fp7'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/unknown precision "fp7" \(known: bf16, fp16, fp8/)
    r = await run(['--workload', summary(), '--model', 'deepseek-r1'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(
      /WL_NO_MEASURED_PROFILE: no measured energy profile for deepseek-ai\/DeepSeek-R1-0528/,
    )
    r = await run(['--workload', summary(), '--model', 'llama-3.1-8b', '--hardware', 'L4'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/WL_NO_MEASURED_PROFILE.* on L4/)
    r = await run([
      '--workload',
      summary({ requests_per_s_by_hour: [1, 2] }),
      '--model',
      'llama-3.1-8b',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/requests_per_s_by_hour/)
    r = await run(['--workload', summary()])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/give --model/)
  })
})

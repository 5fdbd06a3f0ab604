import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runCaptured, type CliRun } from '../run-cli.test-support.ts'

interface Option {
  model: string
  precision: string
  hardware: string
  placement: string
  devices: number
  gpus: number
  batch_cap: number
  energy_per_1k_requests_wh: { value: number; low: number; high: number }
  latency_p95_ms: number
  meets_slo: boolean | null
  basis: string
  source: string
}

/** A latency-tolerant workload: a few requests a minute, answers read minutes later. */
function workload(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wl-advise-edge-'))
  const file = join(dir, 'notes.yaml')
  writeFileSync(
    file,
    JSON.stringify({
      input_tokens: { mean: 600, p95: 1500 },
      output_tokens: { mean: 250, p95: 500 },
      requests_per_s: 0.1,
    }),
  )
  return file
}

const run = (args: string[]): Promise<CliRun> => runCaptured(['advise', ...args])

describe('wattline advise --placement', () => {
  it('lists edge configurations beside cloud ones, marked by what was measured', async () => {
    const r = await run([
      '--workload',
      workload(),
      '--model',
      'qwen3-8b',
      '--variants',
      'qwen3-4b',
      '--placement',
      'cloud,edge',
      '--slo-p95-ms',
      '120000',
      '--json',
    ])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const options = (JSON.parse(r.out) as { options: Option[] }).options
    const edge = options.filter((o) => o.placement === 'edge')
    expect(options.some((o) => o.placement === 'cloud')).toBe(true)
    // Both measured variants on both catalogued modules, int4.
    const measured = edge.filter((o) => o.basis === 'measured-extrapolated')
    expect(measured.map((o) => `${o.model} ${o.hardware}`).sort()).toEqual([
      'Qwen/Qwen3-4B-Instruct-2507 Jetson-AGX-Orin-64GB',
      'Qwen/Qwen3-4B-Instruct-2507 Jetson-Orin-NX-16GB',
      'Qwen/Qwen3-8B Jetson-AGX-Orin-64GB',
      'Qwen/Qwen3-8B Jetson-Orin-NX-16GB',
    ])
    for (const o of measured) {
      expect(o.precision).toBe('int4')
      expect(o.batch_cap).toBe(1)
      expect(o.gpus).toBe(0)
      expect(o.devices).toBeGreaterThanOrEqual(1)
      expect(o.source).toMatch(/TensorRT Edge-LLM v0\.9\.0/)
    }
    expect(edge.some((o) => o.basis === 'extrapolated')).toBe(true)
    // The terminal table says where each runs and what was measured.
    const t = await run([
      '--workload',
      workload(),
      '--model',
      'qwen3-8b',
      '--placement',
      'cloud,edge',
      '--slo-p95-ms',
      '120000',
    ])
    expect(t.out).toMatch(
      /Jetson-AGX-Orin-64GB\s+edge\s+1 module\s+1\s[\s\S]*rates measured, power not/,
    )
  })

  it('rejects an unknown placement, listing the known ones', async () => {
    const r = await run(['--workload', workload(), '--model', 'qwen3-8b', '--placement', 'fog'])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--placement: unknown placement "fog" \(known: cloud, edge\)/)
  })

  it('rejects unknown hardware, listing the edge modules among the known devices', async () => {
    const r = await run([
      '--workload',
      workload(),
      '--model',
      'qwen3-8b',
      '--hardware',
      'Jetson-Nano-2',
    ])
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/unknown hardware "Jetson-Nano-2"[\s\S]*Jetson-AGX-Orin-64GB/)
  })
})

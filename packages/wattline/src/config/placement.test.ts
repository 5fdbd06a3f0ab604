import { describe, expect, it } from 'vitest'
import { createConfigCatalog } from './catalog.ts'
import { parseConfig } from './parse-config.ts'

const deps = { catalog: createConfigCatalog(), env: {} }

/** A gateway config with one cloud backend and one edge module (extra fields on the module). */
function config(edge: Record<string, unknown>): unknown {
  return {
    services: [{ name: 'notes', default: true, slo: { p95_latency_ms: 120_000 } }],
    backends: [
      {
        id: 'dc',
        url: 'http://127.0.0.1:9101/v1',
        zone: 'DE',
        hardware: 'H100-SXM',
        models: ['qwen3-8b'],
      },
      {
        id: 'office-orin',
        url: 'http://10.0.0.7:8000/v1',
        zone: 'DE',
        hardware: 'Jetson-AGX-Orin-64GB',
        placement: 'edge',
        models: ['qwen3-8b'],
        ...edge,
      },
    ],
  }
}

function issues(input: unknown): string[] {
  const r = parseConfig(input, deps)
  return r.ok ? [] : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
}

describe('backend placement', () => {
  it('defaults to cloud; an edge module runs one request at a time, no PUE, the measured precision', () => {
    const r = parseConfig(config({}), deps)
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const [dc, orin] = r.value.backends
    expect(dc).toMatchObject({ placement: 'cloud', max_concurrency: 32, pue: 1.58 })
    expect(orin).toMatchObject({
      placement: 'edge',
      max_concurrency: 1,
      pue: 1,
      precision: 'int4',
    })
  })

  it('keeps an explicit precision and accepts max_concurrency 1 and pue 1 written out', () => {
    const r = parseConfig(config({ precision: 'fp16', max_concurrency: 1, pue: 1 }), deps)
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.value.backends[1]?.precision).toBe('fp16')
  })

  it('rejects batching, a PUE, and an edge/cloud mismatch, each at its field', () => {
    expect(issues(config({ max_concurrency: 8 }))).toEqual([
      'backends.1.max_concurrency: placement edge runs one request at a time per device (no batching): max_concurrency must be 1 or left out, got 8; describe more devices as replicas or more backends',
    ])
    expect(issues(config({ pue: 1.4 }))[0]).toMatch(
      /^backends\.1\.pue: placement edge runs outside a data centre/,
    )
    expect(issues(config({ placement: 'cloud' }))[0]).toBe(
      'backends.1.placement: Jetson-AGX-Orin-64GB is an edge module: set placement: edge (one request at a time, no PUE)',
    )
    expect(issues(config({ hardware: 'L4' }))[0]).toMatch(
      /^backends\.1\.hardware: placement edge needs an edge module, not L4 \(edge modules: Jetson-AGX-Orin-64GB, Jetson-Orin-NX-16GB\)/,
    )
    expect(issues(config({ placement: 'fog' }))[0]).toMatch(/^backends\.1\.placement: /)
  })

  it('lists the known devices, edge modules included, for an unknown one', () => {
    expect(issues(config({ hardware: 'Jetson-Thor-9' }))[0]).toMatch(
      /unknown hardware 'Jetson-Thor-9'; known: .*Jetson-AGX-Orin-64GB, Jetson-Orin-NX-16GB/,
    )
  })
})

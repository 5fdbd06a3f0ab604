import type { IdleEnergyRecord } from '@wattline/core'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { buildReport } from './build-report.ts'
import { checkJsonSchema } from './json-schema-check.ts'
import { createMemoryReportSource } from './memory-report-source.ts'
import { renderHtml } from './render-html.ts'
import { renderMarkdown } from './render-markdown.ts'
import { FROM_MS, GENERATED_MS, request, TO_MS } from './report-fixture.test-support.ts'

const SCHEMA_FILE = fileURLToPath(new URL('../../../../docs/report-schema.json', import.meta.url))
const MIN = 60_000

function idle(backend: string, energyJ: number, carbonG: number): IdleEnergyRecord {
  return {
    kind: 'idle',
    backend,
    zone: 'DE',
    from_ms: FROM_MS,
    to_ms: FROM_MS + 60 * MIN,
    energy_j: energyJ,
    facility_energy_j: energyJ * 1.25,
    carbon_g: carbonG,
    method: 'measured',
    source: 'nvidia-smi',
  }
}

/** Two backends: gpu-de shared by acme (3× the energy) and globex; gpu-fr used by globex only. */
function data() {
  return {
    requests: [
      request({ id: 'a1', at_ms: FROM_MS + MIN, tenant: 'acme', energy_j: 600 }),
      request({ id: 'a2', at_ms: FROM_MS + 2 * MIN, tenant: 'acme', energy_j: 300 }),
      request({ id: 'g1', at_ms: FROM_MS + 3 * MIN, tenant: 'globex', energy_j: 300 }),
      request({
        id: 'g2',
        at_ms: FROM_MS + 4 * MIN,
        tenant: 'globex',
        backend: 'gpu-fr',
        energy_j: 100,
      }),
      request({
        id: 'n1',
        at_ms: FROM_MS + 5 * MIN,
        tenant: null,
        backend: 'gpu-fr',
        energy_j: 100,
      }),
    ],
    // gpu-pl is powered but no request used it: its idle energy has no tenant to go to.
    idle: [idle('gpu-de', 1200, 0.4), idle('gpu-fr', 600, 0.2), idle('gpu-pl', 360, 0.1)],
  }
}

const build = (rule?: 'proportional' | 'equal' | 'requests') =>
  buildReport(
    createMemoryReportSource(data()),
    { fromMs: FROM_MS, toMs: TO_MS, service: null },
    { generatedAtMs: GENERATED_MS, ...(rule === undefined ? {} : { idleAllocation: rule }) },
  )

describe('report: Tenants section', () => {
  it('gives each tenant its energy, carbon, requests and share, and allocates idle energy proportionally by default', async () => {
    const t = (await build()).tenants
    expect(t.idle_allocation).toBe('proportional')
    const row = (name: string | null) => t.tenants.find((x) => x.tenant === name)
    expect(row('acme')).toMatchObject({ requests: 2, failed_requests: 0 })
    expect(row('acme')?.it_energy_wh.value).toBeCloseTo(900 / 3600, 12)
    expect(row('acme')?.share_of_it_energy_pct).toBeCloseTo((100 * 900) / 1400, 9)
    expect(row('globex')?.share_of_requests_pct).toBeCloseTo(40, 9)
    // gpu-de: acme 900 J, globex 300 J → 3:1 of 1200 J; gpu-fr: globex and no-key 100 J each.
    expect(row('acme')?.idle_allocated_it_energy_wh).toBeCloseTo(900 / 3600, 12)
    expect(row('globex')?.idle_allocated_it_energy_wh).toBeCloseTo((300 + 300) / 3600, 12)
    expect(row(null)?.idle_allocated_it_energy_wh).toBeCloseTo(300 / 3600, 12)
    expect(row('acme')?.idle_allocated_carbon_g).toBeCloseTo(0.3, 12)
    expect(t.unallocated_idle_it_energy_wh).toBeCloseTo(360 / 3600, 12)
    expect(row('acme')?.it_energy_with_idle_wh).toBeCloseTo(1800 / 3600, 12)
  })

  it("sums the allocated idle energy to the pool's idle energy, under every rule", async () => {
    for (const rule of ['proportional', 'equal', 'requests'] as const) {
      const r = await build(rule)
      const t = r.tenants
      const allocated = t.tenants.reduce((s, x) => s + x.idle_allocated_it_energy_wh, 0)
      expect(allocated + t.unallocated_idle_it_energy_wh).toBeCloseTo(t.pool_idle_it_energy_wh, 12)
      // … and the pool is the report's idle energy.
      expect(t.pool_idle_it_energy_wh).toBeCloseTo(r.totals.idle_it_energy_wh.value, 12)
      expect(t.idle_allocation_basis).toMatch(/idle energy/)
    }
    const equal = (await build('equal')).tenants
    // gpu-de split equally between acme and globex.
    expect(equal.tenants.find((x) => x.tenant === 'acme')?.idle_allocated_it_energy_wh).toBeCloseTo(
      600 / 3600,
      12,
    )
  })

  it('is in the JSON (valid against docs/report-schema.json), the HTML and the Markdown', async () => {
    const report = await build()
    const schema: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'))
    expect(checkJsonSchema(schema, JSON.parse(JSON.stringify(report)))).toEqual([])
    const html = renderHtml(report)
    expect(html).toContain('<h2 id="s-tenants">Tenants</h2>')
    expect(html).toMatch(/<td>acme<\/td><td class="n">2<\/td>/)
    expect(html).toContain('<em>no tenant key</em>')
    expect(html).toContain('Idle allocation <code>proportional</code>')
    const md = renderMarkdown(report)
    expect(md).toContain('### Tenants')
    expect(md).toMatch(/\| acme \| 2 \| 0\.25 \|/)
    expect(md).toContain('_no tenant key_')
  })

  it('limits the section to the service of a service report', async () => {
    const r = await buildReport(
      createMemoryReportSource(data()),
      { fromMs: FROM_MS, toMs: TO_MS, service: 'nobody' },
      { generatedAtMs: GENERATED_MS },
    )
    expect(r.tenants.tenants).toEqual([])
    expect(renderMarkdown(r)).not.toContain('### Tenants')
  })
})

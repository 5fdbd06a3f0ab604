import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { buildReport } from './build-report.ts'
import { toImpactManifest, renderImpactManifest, type IfManifest } from './impact-framework.ts'
import { createMemoryReportSource } from './memory-report-source.ts'
import { renderHtml } from './render-html.ts'
import { renderMarkdown } from './render-markdown.ts'
import { DEFAULT_CHROMIUM_PATH, findChromium, pdfFooter, renderPdf } from './render-pdf.ts'
import {
  CHAIN_HASH,
  FROM_MS,
  fixtureData,
  GENERATED_MS,
  request,
  TO_MS,
} from './report-fixture.test-support.ts'
import type { Report } from './report-schema.ts'

let report: Report
beforeAll(async () => {
  report = await buildReport(
    createMemoryReportSource(fixtureData()),
    { fromMs: FROM_MS, toMs: TO_MS, service: null },
    { generatedAtMs: GENERATED_MS, anomalyMinRequestsPerHour: 1 },
  )
})

describe('renderMarkdown', () => {
  it('leads with a headline table of figures with units, intervals and methods', () => {
    const md = renderMarkdown(report)
    expect(md).toMatch(/^## Wattline transparency report: all services\n/)
    expect(md).toContain('| Energy per 1k requests | 670 Wh |')
    expect(md).toContain('| Carbon per 1k requests | 146 gCO2e |')
    expect(md).toContain(
      '| Peak power | 600 W at 2024-03-01 00:05 UTC | 1-min mean | mixed (power-samples) |',
    )
    expect(md).toContain(`ledger head \`${CHAIN_HASH.slice(0, 16)}…\` (12 blocks)`)
  })

  it('has compact section tables: zones, budgets, gate, lifecycle, anomalies', () => {
    const md = renderMarkdown(report)
    expect(md).toContain(
      '| US-CAL-CISO | 1 | 1.5 | 0.375 (0.338–0.413) | 51.4 % | 250 | marginal |',
    )
    expect(md).toContain(
      '| search | `carbon_per_1k_requests_g` | pilot | 20 (+10 %) | 50 | **over** |',
    )
    expect(md).toContain('| 2024-03-01 00:50 UTC | chat | v42 | pass | 480 / 600 |')
    expect(md).toContain(
      '| ft-1 | llama-3.1-8b-instruct | 100 | 40 | measured | cluster DCGM export |',
    )
    expect(md).toMatch(/\| 2024-03-01 00:00 UTC \| chat energy\/request \| 540 J\/request \|/)
    expect(md).toContain(`Chain head: \`${CHAIN_HASH}\``)
    // Every table row has as many cells as its header.
    for (const block of md.split('\n\n')) {
      const rows = block.split('\n').filter((l) => l.startsWith('|'))
      const widths = new Set(rows.map((r) => r.split(/(?<!\\)\|/).length))
      expect(widths.size).toBeLessThanOrEqual(1)
    }
  })

  it('escapes ledger text that would break a table or inject HTML', async () => {
    const r = await buildReport(
      createMemoryReportSource({
        requests: [request({ id: 'x', at_ms: FROM_MS + 1, zone: 'DE|<b>' })],
      }),
      { fromMs: FROM_MS, toMs: TO_MS, service: null },
      { generatedAtMs: 0 },
    )
    const md = renderMarkdown(r)
    expect(md).toContain('| DE\\|&lt;b> |')
    expect(md).not.toContain('<b>')
  })
})

describe('renderHtml', () => {
  it('is one self-contained page with inline SVG charts and print CSS', () => {
    const html = renderHtml(report)
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html.match(/<svg[\s>]/g)?.length).toBe(3)
    expect(html).toContain('@page { size: A4')
    expect(html).toContain('break-inside: avoid')
    expect(html).not.toMatch(/<script|<link|src="http|href="http/i)
    expect(html).toContain(CHAIN_HASH)
    expect(html).toContain('SCI = (E × I + M) / R')
    expect(html).toContain('US-CAL-CISO')
  })

  it('escapes ledger text', async () => {
    const r = await buildReport(
      createMemoryReportSource({
        requests: [
          request({ id: 'x', at_ms: FROM_MS + 1, backend: '<img src=x onerror=alert(1)>' }),
        ],
      }),
      { fromMs: FROM_MS, toMs: TO_MS, service: null },
      { generatedAtMs: 0 },
    )
    const html = renderHtml(r)
    expect(html).not.toContain('<img')
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;')
  })
})

describe('toImpactManifest', () => {
  it('parses as YAML with the IF manifest structure and builtin plugins', () => {
    const m = parse(renderImpactManifest(report)) as IfManifest
    expect(m.name).toBe('wattline-all-services-2024-03-01')
    expect(m.initialize.plugins['sci']).toEqual({
      path: 'builtin',
      method: 'Sci',
      config: { 'functional-unit': 'requests' },
    })
    expect(m.initialize.plugins['sum-carbon']?.method).toBe('Sum')
    expect(Object.keys(m.tree.children)).toEqual(['zone-DE', 'zone-FR', 'zone-US-CAL-CISO'])
    const de = m.tree.children['zone-DE']
    expect(de?.pipeline.compute).toEqual(['sum-carbon', 'sci'])
    expect(de?.inputs[0]).toMatchObject({ timestamp: '2024-03-01T00:00:00.000Z', duration: 300 })
  })

  it('reproduces the report totals when the observations are summed', () => {
    const m = toImpactManifest(report)
    const inputs = Object.values(m.tree.children).flatMap((c) => c.inputs)
    const total = (k: string): number => inputs.reduce((s, i) => s + Number(i[k]), 0)
    expect(total('energy')).toBeCloseTo(report.sci.e_kwh.value, 12)
    expect(total('carbon-operational')).toBeCloseTo(report.totals.carbon_g.value, 12)
    expect(total('carbon-embodied')).toBeCloseTo(report.sci.embodied_g, 9)
    expect(total('requests')).toBe(5)
    for (const i of inputs) expect(i.duration).toBeGreaterThan(0)
  })
})

const chromium = process.env['CHROMIUM_PATH'] || DEFAULT_CHROMIUM_PATH
const hasChromium = existsSync(chromium)
if (!hasChromium)
  console.warn(`[report] PDF tests skipped: no Chromium at ${chromium} (set CHROMIUM_PATH)`)

describe('renderPdf', () => {
  it('names the missing browser and the fix', () => {
    expect(() => findChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).toThrow(
      /CHROMIUM_PATH=\/nonexistent\/chromium does not exist; install it/,
    )
  })

  it.skipIf(!hasChromium)(
    'prints an A4 PDF that poppler can read',
    async () => {
      const pdf = await renderPdf(renderHtml(report), {
        env: process.env,
        footer: pdfFooter(null, CHAIN_HASH),
      })
      expect(Buffer.from(pdf.subarray(0, 5)).toString('latin1')).toBe('%PDF-')
      const dir = fileURLToPath(new URL('../../../../test-artifacts/report/', import.meta.url))
      mkdirSync(dir, { recursive: true })
      const file = `${dir}report.pdf`
      writeFileSync(file, pdf)
      const info = spawnSync('pdfinfo', [file], { encoding: 'utf8' })
      if (info.error !== undefined) {
        console.warn('[report] pdfinfo not installed: page count not checked')
        return
      }
      const pages = Number(/Pages:\s+(\d+)/.exec(info.stdout)?.[1])
      expect(pages).toBeGreaterThanOrEqual(2)
      expect(pages).toBeLessThanOrEqual(6)
      expect(info.stdout).toMatch(/Page size:.*\(A4\)/)
    },
    60_000,
  )
})

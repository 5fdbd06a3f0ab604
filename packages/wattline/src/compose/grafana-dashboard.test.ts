/**
 * deploy/grafana/wattline-dashboard.json: every panel states its unit and what it shows, every
 * metric it queries is one the gateway documents (docs/metrics.md), and every query is valid PromQL
 * as Prometheus's own `promtool` parses it (each query becomes a recording rule, Grafana's
 * variables replaced by what Grafana would send). Needs PROMTOOL_BIN or PROMETHEUS_BIN with
 * promtool beside it for the PromQL check; skips that part with a notice otherwise.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
const DASHBOARD = join(ROOT, 'deploy/grafana/wattline-dashboard.json')
const PROMETHEUS_BIN = process.env['PROMETHEUS_BIN'] ?? ''
const PROMTOOL_BIN =
  process.env['PROMTOOL_BIN'] ??
  (PROMETHEUS_BIN === '' ? '' : join(dirname(PROMETHEUS_BIN), 'promtool'))
const hasPromtool = PROMTOOL_BIN !== '' && existsSync(PROMTOOL_BIN)
if (!hasPromtool)
  console.warn(
    '[grafana dashboard] PromQL check SKIPPED: no promtool (set PROMTOOL_BIN or PROMETHEUS_BIN)',
  )

interface Target {
  readonly refId: string
  readonly expr: string
  readonly legendFormat?: string
}
interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly description?: string
  readonly fieldConfig?: { readonly defaults?: { readonly unit?: string } }
  readonly targets?: readonly Target[]
}
interface Dashboard {
  readonly uid: string
  readonly title: string
  readonly panels: readonly Panel[]
  readonly templating: { readonly list: readonly { readonly name: string }[] }
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row')
const queries = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, target: t })))

/** What Grafana sends for the dashboard's variables. */
function asSent(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$service', '.*')
}

describe('deploy/grafana/wattline-dashboard.json', () => {
  it('is an importable dashboard with unique panel ids, a data source and a service variable', () => {
    expect(dashboard.uid).toBe('wattline-gateway')
    const ids = dashboard.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'service'])
    expect(queryPanels.length).toBeGreaterThanOrEqual(10)
  })

  it('gives every panel a unit, a description and at least one query', () => {
    for (const p of queryPanels) {
      expect(p.fieldConfig?.defaults?.unit, p.title).toMatch(/\S/)
      expect(p.description?.length ?? 0, p.title).toBeGreaterThan(30)
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0)
    }
  })

  it('queries only metrics documented in docs/metrics.md', () => {
    const documented = new Set(
      [
        ...readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8').matchAll(/`(wattline_[a-z_]+)[`{]/g),
      ].map((m) => m[1]),
    )
    const used = new Set(
      queries.flatMap(({ target }) =>
        [...target.expr.matchAll(/\b(wattline_[a-z_]+?)(?:_bucket)?\b(?=[{[(\s)]|$)/g)].map(
          (m) => m[1] as string,
        ),
      ),
    )
    expect(used.size).toBeGreaterThan(10)
    for (const name of used) expect(documented, name).toContain(name)
  })

  it.skipIf(!hasPromtool)('has only queries promtool accepts as PromQL', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'wl-grafana-'))
    try {
      const rules = queries.map(({ panel, target }) => ({
        record: `grafana:panel_${panel.id}:${target.refId.toLowerCase()}`,
        expr: asSent(target.expr),
      }))
      writeFileSync(
        join(tmp, 'rules.yml'),
        JSON.stringify({ groups: [{ name: 'grafana', rules }] }),
      )
      const r = spawnSync(PROMTOOL_BIN, ['check', 'rules', 'rules.yml'], {
        cwd: tmp,
        encoding: 'utf8',
        timeout: 20_000,
      })
      expect(`${r.stdout}${r.stderr}`).toContain(`SUCCESS: ${rules.length} rules found`)
      expect(r.status).toBe(0)
    } finally {
      rmSync(tmp, { recursive: true, force: true })
    }
  })
})

/**
 * `wattline report` over a SQLite ledger with tenants: the Tenants section in JSON and Markdown, the
 * idle allocation rule from `--idle-allocation`, and a bad rule refused with exit 2.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IdleEnergyRecord } from '@wattline/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openLedger } from '../../adapters/storage/open-ledger.ts'
import { FROM_MS, GENERATED_MS, request } from '../../report/report-fixture.test-support.ts'
import type { Report } from '../../report/report-schema.ts'
import { runCaptured } from '../run-cli.test-support.ts'

let dir: string
const PERIOD = ['--from', '2024-03-01T00:00:00Z', '--to', '2024-03-01T02:00:00Z']
const idle: IdleEnergyRecord = {
  kind: 'idle',
  backend: 'gpu-de',
  zone: 'DE',
  from_ms: FROM_MS,
  to_ms: FROM_MS + 3_600_000,
  energy_j: 3600,
  facility_energy_j: 4500,
  carbon_g: 0.5,
  method: 'measured',
  source: 'nvidia-smi',
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wl-report-tenants-'))
  const ledger = await openLedger('sqlite:ledger.db', {
    baseDir: dir,
    signingKeyPath: join(dir, 'key.pem'),
    now: () => GENERATED_MS,
  })
  await ledger.sink.writeNow([
    request({ id: 'a1', at_ms: FROM_MS + 60_000, tenant: 'acme', energy_j: 2700 }),
    request({ id: 'g1', at_ms: FROM_MS + 120_000, tenant: 'globex', energy_j: 900 }),
    request({ id: 'g2', at_ms: FROM_MS + 180_000, tenant: 'globex', energy_j: 0 }),
    idle,
  ])
  await ledger.close()
})
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})

const report = (...extra: string[]) =>
  runCaptured(['report', '--ledger', 'sqlite:ledger.db', ...PERIOD, ...extra], { cwd: dir })

describe('wattline report: Tenants', () => {
  it('allocates idle energy proportionally by default, or by --idle-allocation', async () => {
    const byRule = new Map<string, Report['tenants']>()
    for (const rule of [undefined, 'equal', 'requests']) {
      const r = await report(...(rule === undefined ? [] : ['--idle-allocation', rule]))
      expect(r.code).toBe(0)
      byRule.set(rule ?? 'default', (JSON.parse(r.out) as Report).tenants)
    }
    const idleOf = (rule: string, t: string) =>
      byRule.get(rule)?.tenants.find((x) => x.tenant === t)?.idle_allocated_it_energy_wh
    // 1 Wh of idle on gpu-de: acme 2700 J vs globex 900 J active; 1 vs 2 requests.
    expect(byRule.get('default')?.idle_allocation).toBe('proportional')
    expect(idleOf('default', 'acme')).toBeCloseTo(0.75, 12)
    expect(idleOf('equal', 'acme')).toBeCloseTo(0.5, 12)
    expect(idleOf('requests', 'acme')).toBeCloseTo(1 / 3, 12)
    expect(idleOf('requests', 'globex')).toBeCloseTo(2 / 3, 12)
  })

  it('renders the Tenants table in Markdown', async () => {
    const r = await report('--format', 'md')
    expect(r.code).toBe(0)
    expect(r.out).toContain('### Tenants')
    expect(r.out).toMatch(/\| acme \| 1 \| 0\.75 \|/)
  })

  it('refuses an unknown rule with exit 2, naming the choices', async () => {
    const r = await report('--idle-allocation', 'fair')
    expect(r.code).toBe(2)
    expect(r.err).toMatch(/--idle-allocation/)
    expect(r.err).toMatch(/proportional/)
  })
})

/**
 * End-to-end: the dashboard's tenant filter and Tenants view in Debian Chromium (playwright-core)
 * against the dashboard API over a small ledger of two tenants sharing backends. Skips without
 * Chromium (CHROMIUM_PATH).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IdleEnergyRecord, LedgerRecord } from '@wattline/core'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { request } from '../report/report-fixture.test-support.ts'
import { registerDashboardApi } from './api/dashboard-api.ts'
import { createDashboardFixture } from './api/dashboard-fixture.test-support.ts'
import { createMemoryLedgerReader } from './api/memory-ledger-reader.ts'
import { DEFAULT_DASHBOARD_DIST, registerDashboardStatic } from './dashboard-static.ts'

const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`[dashboard tenants e2e] SKIPPED: no Chromium at ${CHROMIUM}`)

const END = Date.UTC(2025, 5, 16, 12)
const T0 = END - 20 * 60_000
const idle = (backend: string, energyJ: number): IdleEnergyRecord => ({
  kind: 'idle',
  backend,
  zone: 'DE',
  from_ms: T0,
  to_ms: T0 + 60_000,
  energy_j: energyJ,
  facility_energy_j: energyJ * 1.25,
  carbon_g: energyJ / 1000,
  method: 'measured',
  source: 'nvidia-smi',
})
const records: LedgerRecord[] = [
  request({ id: 'a1', at_ms: T0 + 1000, tenant: 'acme', energy_j: 600 }),
  request({ id: 'a2', at_ms: T0 + 2000, tenant: 'acme', energy_j: 300 }),
  request({ id: 'g1', at_ms: T0 + 3000, tenant: 'globex', energy_j: 300 }),
  request({ id: 'g2', at_ms: T0 + 4000, tenant: 'globex', energy_j: 100 }),
  request({ id: 'g3', at_ms: T0 + 5000, tenant: 'globex', energy_j: 100 }),
  idle('gpu-de', 1400),
]

describe.skipIf(!hasChromium)('dashboard tenant filter in Chromium', () => {
  let app: FastifyInstance
  let browser: Browser
  let page: Page
  const apiCalls: string[] = []
  const errors: string[] = []

  beforeAll(async () => {
    ensureDashboardBuilt()
    app = Fastify({ logger: false })
    registerDashboardApi(app, {
      ledger: createMemoryLedgerReader(records),
      live: createDashboardFixture(END, 1).live,
      budgets: { budgets: () => [] },
      now: () => END,
      registry: new Registry(),
      tenants: ['acme', 'globex'],
    })
    await registerDashboardStatic(app)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    page = await (await browser.newContext()).newPage()
    page.on('request', (r) => {
      if (r.url().includes('/api/')) apiCalls.push(r.url())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    await page.clock.install({ time: END })
    await page.goto(`${base}/dashboard/`)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  const requestsStat = () =>
    page
      .locator('dl.stats .stat')
      .filter({ has: page.locator('dt', { hasText: /^Requests$/ }) })
      .locator('.stat-value')

  it('offers the tenants in a labelled select and narrows the overview to the one chosen', async () => {
    await page.locator('#tenant option', { hasText: 'globex' }).waitFor({ state: 'attached' })
    expect(await page.locator('label[for="tenant"]').textContent()).toBe('Tenant')
    await page.waitForFunction(() => document.querySelector('dl.stats .stat-value') !== null)
    await expect.poll(() => requestsStat().textContent()).toBe('5')
    await page.locator('#tenant').selectOption('acme')
    await expect.poll(() => requestsStat().textContent()).toBe('2')
    expect(apiCalls.some((u) => /\/api\/overview\?.*tenant=acme/.test(u))).toBe(true)
  })

  it('shows the Tenants view: energy, requests and the idle energy allocated to each', async () => {
    await page.locator('nav a[href="#tenants"]').click()
    const table = page.locator('table', { hasText: 'Idle energy allocated' })
    await table.locator('tbody tr').first().waitFor()
    const rows = await table.locator('tbody tr').allTextContents()
    // acme 900 J of 1400 J active → 900 J of the 1400 J idle; globex 500 J → 500 J.
    expect(rows[0]).toMatch(/^acme2900 J.*64(\.\d)?\s?%.*900 J/)
    expect(rows[1]).toMatch(/^globex3500 J/)
    expect(await page.locator('#idle-allocation-note').textContent()).toMatch(/proportional/)
    expect(errors).toEqual([])
  })
})

/** Builds the dashboard when dist/ is missing or older than its sources. */
function ensureDashboardBuilt(): void {
  const pkg = join(REPO, 'packages', 'dashboard')
  const index = join(DEFAULT_DASHBOARD_DIST, 'index.html')
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(join(pkg, 'src'))) return
  const r = spawnSync(
    process.execPath,
    [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'],
    { cwd: pkg, encoding: 'utf8' },
  )
  if (r.status !== 0) throw new Error(`dashboard build failed:\n${r.stdout}\n${r.stderr}`)
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }
  return newest
}

/**
 * End-to-end: the built dashboard in Debian Chromium (playwright-core) against the dashboard API on a
 * fastify app with a seeded ledger and fake live state, on 127.0.0.1. Checks that every view shows the
 * API's numbers, keyboard navigation, live refresh (and its pause while the tab is hidden), no console
 * errors, and basic accessibility. Screenshots go to test-artifacts/ (git-ignored).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { IdleEnergyRecord, LedgerRecord } from '@wattline/core'
import { requestRecord } from '@wattline/core/testing'
import Fastify, { type FastifyInstance } from 'fastify'
import { chromium, type Browser, type Page } from 'playwright-core'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerDashboardApi } from './api/dashboard-api.ts'
import { createDashboardFixture } from './api/dashboard-fixture.test-support.ts'
import { createMemoryLedgerReader } from './api/memory-ledger-reader.ts'
import { DEFAULT_DASHBOARD_DIST, registerDashboardStatic } from './dashboard-static.ts'

const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
const ARTIFACTS = join(REPO, 'test-artifacts')
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) {
  console.warn(`[dashboard e2e] SKIPPED: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`)
}

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

describe.skipIf(!hasChromium)('dashboard in Chromium', () => {
  const fixture = createDashboardFixture(Date.UTC(2025, 5, 16, 12))
  let app: FastifyInstance
  let browser: Browser
  let page: Page
  let base: string
  const consoleErrors: string[] = []
  const apiCalls: string[] = []

  beforeAll(async () => {
    ensureDashboardBuilt()
    mkdirSync(ARTIFACTS, { recursive: true })
    app = Fastify({ logger: false })
    registerDashboardApi(app, {
      ledger: createMemoryLedgerReader(fixture.records),
      live: fixture.live,
      budgets: { budgets: () => fixture.budgets },
      now: () => fixture.now,
      registry: new Registry(),
    })
    await registerDashboardStatic(app)
    base = await app.listen({ host: '127.0.0.1', port: 0 })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    page = await context.newPage()
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => consoleErrors.push(e.message))
    page.on('request', (r) => {
      if (r.url().includes('/api/')) apiCalls.push(new URL(r.url()).pathname)
    })
    await page.clock.install({ time: fixture.now })
    await page.goto(`${base}/dashboard/`)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  async function api(path: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${base}${path}`)
    return (await res.json()) as Record<string, unknown>
  }

  it('shows the overview with the API’s numbers, units and methods', async () => {
    const overview = await api('/api/overview?span=24h')
    const summary = overview['summary'] as { requests: number }
    const stats = page.locator('dl.stats')
    await stats.waitFor()
    const requests = stats
      .locator('.stat')
      .filter({ has: page.locator('dt', { hasText: /^Requests$/ }) })
      .locator('.stat-value')
    expect(await requests.textContent()).toBe(new Intl.NumberFormat('en').format(summary.requests))
    const energy = stats.locator('.stat', { hasText: 'Energy per 1k requests' })
    expect(await energy.textContent()).toMatch(
      /\d+(\.\d+)? Wh.*modelled.*interval .* Wh.*source: ledger/,
    )
    expect(await page.locator('table', { hasText: 'round-robin' }).count()).toBe(1)
    await page.locator('.chart canvas').first().waitFor()
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview.png'), fullPage: true })
  })

  it('is keyboard operable: skip link, Tab to the navigation, Enter switches view', async () => {
    await page.keyboard.press('Tab')
    expect(await focusedText(page)).toBe('Skip to content')
    await page.keyboard.press('Tab')
    expect(await focusedText(page)).toBe('Overview')
    await page.keyboard.press('Tab')
    expect(await focusedText(page)).toBe('Services')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.activeElement?.id === 'services-heading')
    expect(page.url()).toMatch(/#services$/)
    await page.locator('table', { hasText: 'Budget metric' }).locator('tbody tr').first().waitFor()
    const rows = await page
      .locator('table', { hasText: 'Budget metric' })
      .locator('tbody tr')
      .allTextContents()
    expect(rows[0]).toMatch(/chat.*Wh.*energy_per_1k_requests_wh.*within budget/)
    expect(rows[1]).toMatch(/search.*carbon_per_1k_requests_g.*over budget/)
    await page.locator('#service-detail-heading').waitFor()
    await page.locator('#service-trend-title').waitFor()
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-services.png'), fullPage: true })
  })

  it('shows zones, backends, decisions and anomalies from the API', async () => {
    await go(page, 'zones')
    const fr = page.locator('tbody tr', { hasText: /^FR/ })
    await fr.waitFor()
    const zones = (await api('/api/zones?span=24h'))['zones'] as {
      zone: string
      share_of_requests: number
    }[]
    const frShare = zones.find((z) => z.zone === 'FR')?.share_of_requests ?? 0
    expect(await fr.textContent()).toContain(`${(frShare * 100).toFixed(0)} %`)
    expect(await fr.textContent()).toContain('static:fixture')
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-zones.png'), fullPage: true })

    await go(page, 'backends')
    const paris = page.locator('tbody tr', { hasText: /^paris/ })
    await paris.waitFor()
    expect(await paris.textContent()).toMatch(/H100-SXM.*healthy.*66 %.*21\/32.*measured/)
    expect(await page.locator('tbody tr', { hasText: /^warsaw/ }).textContent()).toContain(
      'unhealthy',
    )
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-backends.png'), fullPage: true })

    await go(page, 'decisions')
    const first = page
      .locator('table', { hasText: 'Recent routing decisions' })
      .locator('tbody > tr')
      .first()
    await first.waitFor()
    expect(await first.textContent()).toMatch(
      /(carbon-aware|round-robin).*→ (paris|frankfurt|warsaw)/,
    )
    await first.locator('summary').click()
    expect(await first.locator('table.nested tbody tr').count()).toBe(3)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-decisions.png'), fullPage: true })

    await go(page, 'anomalies')
    const rows = page.locator('tr.anomaly')
    await rows.first().waitFor()
    const text = await rows.allTextContents()
    expect(text).toHaveLength(2)
    expect(text.join('\n')).toMatch(/energy per request.*chat.*J\/request.*above/)
    expect(text.join('\n')).toMatch(/backend power.*warsaw.*W.*above/)
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-anomalies.png'), fullPage: true })
  })

  it('refreshes live, and pauses while the tab is hidden', async () => {
    await go(page, 'overview')
    await page.locator('dl.stats').waitFor()
    const before = apiCalls.filter((p) => p === '/api/overview').length
    await page.clock.runFor(5_500)
    await expect
      .poll(() => apiCalls.filter((p) => p === '/api/overview').length)
      .toBeGreaterThan(before)
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => true })
      document.dispatchEvent(new Event('visibilitychange'))
    })
    await page.clock.runFor(6_000) // let a timer already armed fire once
    const hidden = apiCalls.length
    await page.clock.runFor(30_000)
    expect(apiCalls.length).toBe(hidden)
    await page.evaluate(() => {
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => false })
      document.dispatchEvent(new Event('visibilitychange'))
    })
    await expect.poll(() => apiCalls.length).toBeGreaterThan(hidden)
  })

  it('has landmarks, one h1, labelled controls and text alternatives for every chart', async () => {
    await go(page, 'services')
    await page.locator('#service-trend-title').waitFor()
    // The chart's canvas is drawn in an effect after the data arrives: wait for it rather than
    // racing it on a loaded machine.
    await page.locator('[role="img"] canvas').first().waitFor()
    const report = await page.evaluate(() => {
      const problems: string[] = []
      const name = (el: Element): string => {
        const labelledBy = el.getAttribute('aria-labelledby')
        const byId = labelledBy
          ? labelledBy
              .split(' ')
              .map((id) => document.getElementById(id)?.textContent ?? '')
              .join(' ')
          : ''
        const labels = 'labels' in el ? [...((el as HTMLInputElement).labels ?? [])] : []
        return (
          (el.getAttribute('aria-label') ?? '') + byId + labels.map((l) => l.textContent).join(' ')
        )
      }
      for (const tag of ['header', 'nav', 'main', 'footer']) {
        if (document.querySelectorAll(tag).length === 0) problems.push(`no <${tag}> landmark`)
      }
      if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1')
      for (const el of document.querySelectorAll('select, input, meter, textarea')) {
        if (name(el).trim() === '') problems.push(`unlabelled ${el.tagName.toLowerCase()}`)
      }
      for (const el of document.querySelectorAll('button, a[href]')) {
        if ((el.textContent ?? '').trim() === '' && name(el).trim() === '')
          problems.push('empty control')
      }
      for (const img of document.querySelectorAll('img')) {
        if (!img.hasAttribute('alt')) problems.push('img without alt')
      }
      for (const canvas of document.querySelectorAll('canvas')) {
        const holder = canvas.closest('[role="img"]')
        if (
          canvas.getAttribute('aria-hidden') !== 'true' ||
          !holder ||
          name(holder).trim() === ''
        ) {
          problems.push('canvas without a text alternative')
        }
      }
      for (const table of document.querySelectorAll('table')) {
        // The chart's own legend sits inside role="img", whose content is presentational.
        if (table.closest('[role="img"]')) continue
        if (!table.querySelector('caption')) problems.push('table without caption')
      }
      return { problems, canvases: document.querySelectorAll('canvas').length }
    })
    expect(report.canvases).toBeGreaterThan(0)
    expect(report.problems).toEqual([])
  })

  it('asks for the admin token when the API answers 401, then shows the figures', async () => {
    const guarded = Fastify({ logger: false })
    guarded.addHook('onRequest', async (req, reply) => {
      if (req.url.startsWith('/api/') && req.headers['authorization'] !== 'Bearer s3cret') {
        return reply
          .code(401)
          .send({ error: { message: 'admin token required', code: 'WL_UNAUTHORIZED' } })
      }
      return undefined
    })
    registerDashboardApi(guarded, {
      ledger: createMemoryLedgerReader(fixture.records),
      live: fixture.live,
      budgets: { budgets: () => fixture.budgets },
      now: () => fixture.now,
      registry: new Registry(),
    })
    await registerDashboardStatic(guarded)
    const url = await guarded.listen({ host: '127.0.0.1', port: 0 })
    const context = await browser.newContext()
    try {
      const p = await context.newPage()
      await p.goto(`${url}/dashboard/`)
      const field = p.getByLabel('Admin token', { exact: true })
      await field.waitFor()
      expect(await p.evaluate(() => document.activeElement?.id)).toBe('admin-token')
      await field.fill('s3cret')
      await p.keyboard.press('Enter')
      await p.locator('dl.stats').waitFor()
      expect(await p.getByLabel('Admin token', { exact: true }).count()).toBe(0)
    } finally {
      await context.close()
      await guarded.close()
    }
  })

  it('logged no console errors', () => {
    expect(consoleErrors).toEqual([])
  })
})

async function focusedText(page: Page): Promise<string> {
  return page.evaluate(() => (document.activeElement?.textContent ?? '').trim())
}

async function go(page: Page, view: string): Promise<void> {
  await page.locator(`nav a[href="#${view}"]`).focus()
  await page.keyboard.press('Enter')
  await page.waitForFunction((v) => document.activeElement?.id === `${v}-heading`, view)
}

/** Builds the dashboard when dist/ is missing or older than its sources (about 2 s). */
function ensureDashboardBuilt(): void {
  const pkg = join(REPO, 'packages', 'dashboard')
  const index = join(DEFAULT_DASHBOARD_DIST, 'index.html')
  const newest = newestMtime(join(pkg, 'src'))
  if (existsSync(index) && statSync(index).mtimeMs >= newest) return
  const r = spawnSync(
    process.execPath,
    [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'],
    {
      cwd: pkg,
      encoding: 'utf8',
    },
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

// A demo-like ledger where idle power is most of the energy and all data is from the last 40
// minutes: the overview must say that idle dominates, show served and idle energy apart, state
// savings also as a share of all carbon (idle included), and open on a window that fits the data.
const IDLE_NOW = Date.UTC(2026, 11, 5, 12)

function idleDominatedRecords(): LedgerRecord[] {
  const out: LedgerRecord[] = []
  // 40 requests in the last 40 minutes, carbon-aware, each with a big routing saving recorded.
  for (let i = 0; i < 40; i++) {
    out.push(
      requestRecord(i, {
        at_ms: IDLE_NOW - 40 * 60_000 + i * 60_000,
        routing_policy: 'carbon-aware',
        facility_energy_j: 100,
        energy_j: 100 / 1.2,
        carbon_g: 0.1,
        routing_reason: JSON.stringify({
          reason: 'lowest carbon',
          scores: [
            { backend: 'paris', eligible: true, carbon_g: 0.1, energy_j: 100 },
            { backend: 'warsaw', eligible: true, carbon_g: 6.6, energy_j: 100 },
          ],
        }),
      }),
    )
  }
  // Idle: 87 % of the energy.
  const idle: IdleEnergyRecord = {
    kind: 'idle',
    backend: 'warsaw',
    zone: 'PL',
    from_ms: IDLE_NOW - 40 * 60_000,
    to_ms: IDLE_NOW,
    energy_j: 26_800 / 1.2,
    facility_energy_j: 26_800,
    carbon_g: 5,
    method: 'modelled',
    source: 'profile idle power',
  }
  out.push(idle)
  return out
}

describe.skipIf(!hasChromium)('dashboard headline when idle power dominates', () => {
  let app: FastifyInstance
  let browser: Browser
  let page: Page
  let base: string

  beforeAll(async () => {
    ensureDashboardBuilt()
    const fixture = createDashboardFixture(IDLE_NOW)
    app = Fastify({ logger: false })
    registerDashboardApi(app, {
      ledger: createMemoryLedgerReader(idleDominatedRecords()),
      live: fixture.live,
      budgets: { budgets: () => [] },
      now: () => IDLE_NOW,
      registry: new Registry(),
    })
    await registerDashboardStatic(app)
    base = await app.listen({ host: '127.0.0.1', port: 0 })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    page = await (await browser.newContext()).newPage()
    await page.clock.install({ time: IDLE_NOW })
    await page.goto(`${base}/dashboard/`)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  it('serves the split and the share of all carbon from the API', async () => {
    const o = (await (await fetch(`${base}/api/overview?span=1h`)).json()) as {
      energy_split: {
        idle_share: number
        idle_dominates: boolean
        served_facility_energy_j: number
      }
      savings: { lever: string; carbon_pct: number; carbon_pct_of_total: number }[]
      data_from_ms: number
    }
    expect(o.energy_split.idle_dominates).toBe(true)
    expect(o.energy_split.idle_share).toBeCloseTo(26_800 / (26_800 + 4_000), 3)
    expect(o.energy_split.served_facility_energy_j).toBeCloseTo(4_000, 3)
    const routing = o.savings.find((s) => s.lever === 'routing')
    expect(routing?.carbon_pct).toBeGreaterThan(90) // the served-only figure the headline must not stand alone with
    expect(routing?.carbon_pct_of_total).toBeLessThan(routing?.carbon_pct ?? 0)
    expect(o.data_from_ms).toBe(IDLE_NOW - 40 * 60_000)
  })

  it('opens on a window that fits the data and says idle dominates, with served and idle apart', async () => {
    await page.waitForFunction(
      () => (document.querySelector('#span') as HTMLSelectElement | null)?.value === '1h',
    )
    const notice = page.locator('#idle-notice')
    await notice.waitFor()
    expect(await notice.textContent()).toMatch(/Idle power dominates this window: 87(\.\d)?\s?%/)
    const stats = page.locator('dl.stats')
    expect(await stats.locator('.stat', { hasText: 'Served energy' }).textContent()).toMatch(
      /kJ|Wh|J/,
    )
    expect(await stats.locator('.stat', { hasText: 'Idle energy' }).textContent()).toMatch(
      /87(\.\d)?\s?%/,
    )
    const row = page
      .locator('table', { hasText: 'Of all carbon, idle included' })
      .locator('tbody tr', { hasText: 'routing' })
    await row.waitFor()
    const cells = await row.locator('td').allTextContents()
    expect(Number.parseFloat(cells[4] ?? '')).toBeLessThan(Number.parseFloat(cells[3] ?? ''))
  })
})

// A ledger started 3 minutes ago (the demo, just launched): the overview opens on the shortest
// window, 15 minutes, where its requests are several points of the chart rather than one dot at the
// edge of an hour (before: the shortest window was 1 h).
describe.skipIf(!hasChromium)('dashboard default window for a ledger minutes old', () => {
  let app: FastifyInstance
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    ensureDashboardBuilt()
    // three requests, 150, 90 and 30 s before now: three distinct minutes
    const records: LedgerRecord[] = [0, 1, 2].map((i) =>
      requestRecord(i, { at_ms: IDLE_NOW - 150_000 + i * 60_000 }),
    )
    app = Fastify({ logger: false })
    registerDashboardApi(app, {
      ledger: createMemoryLedgerReader(records),
      live: createDashboardFixture(IDLE_NOW).live,
      budgets: { budgets: () => [] },
      now: () => IDLE_NOW,
      registry: new Registry(),
    })
    await registerDashboardStatic(app)
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    page = await (await browser.newContext()).newPage()
    await page.clock.install({ time: IDLE_NOW })
    await page.goto(`${base}/dashboard/`)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await app?.close()
  })

  it('opens on the last 15 minutes, each request in its own 1-minute bucket', async () => {
    await page.waitForFunction(
      () => (document.querySelector('#span') as HTMLSelectElement | null)?.value === '15m',
    )
    const served = await page.evaluate(async () => {
      const r = await fetch('/api/overview?span=15m')
      const o = (await r.json()) as { bucket_ms: number; series: { requests: number }[] }
      return { bucket_ms: o.bucket_ms, filled: o.series.filter((b) => b.requests > 0).length }
    })
    expect(served).toEqual({ bucket_ms: 60_000, filled: 3 })
  })
})

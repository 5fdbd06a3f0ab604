/**
 * @module report/render-pdf
 * Prints the HTML report to an A4 PDF with headless Chromium through playwright-core. The browser is
 * the system's (Debian `chromium`): `CHROMIUM_PATH`, else `/usr/bin/chromium`; playwright never
 * downloads one. The page runs with JavaScript off and every network request refused, so the PDF
 * depends on nothing but the HTML.
 */
import { existsSync } from 'node:fs'
import { WattlineError } from '@wattline/core'
import { chromium } from 'playwright-core'
import { shortHash } from './format.ts'

/** Launch flags for a headless Chromium in containers and CI (no sandbox, no GPU, no phoning home). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

/** Where Chromium is looked for when `CHROMIUM_PATH` is unset. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium'

export interface PdfOptions {
  /** Environment to read `CHROMIUM_PATH` from. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Printed in the page footer next to the page number (e.g. the chain head). */
  readonly footer?: string
  /** Milliseconds allowed for the browser to start and print (default 60 000). */
  readonly timeoutMs?: number
}

/**
 * Resolves the Chromium executable, or throws `WL_BROWSER_UNAVAILABLE` saying what was looked for
 * and how to fix it.
 */
export function findChromium(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env['CHROMIUM_PATH']
  const path = configured !== undefined && configured !== '' ? configured : DEFAULT_CHROMIUM_PATH
  if (!existsSync(path)) {
    throw new WattlineError(
      'WL_BROWSER_UNAVAILABLE',
      `PDF output needs Chromium, but ${configured ? `CHROMIUM_PATH=${configured}` : DEFAULT_CHROMIUM_PATH} does not exist; ` +
        'install it (Debian: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome executable, ' +
        'or use --format html and print the page yourself',
      { details: { path } },
    )
  }
  return path
}

/** Renders `html` (a complete, self-contained document) to PDF bytes. */
export async function renderPdf(html: string, options: PdfOptions): Promise<Uint8Array> {
  const executablePath = findChromium(options.env)
  const timeout = options.timeoutMs ?? 60_000
  let browser
  try {
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], timeout })
  } catch (cause) {
    throw new WattlineError(
      'WL_BROWSER_UNAVAILABLE',
      `could not start Chromium at ${executablePath}: ${cause instanceof Error ? cause.message.split('\n')[0] : String(cause)}`,
      { cause, details: { path: executablePath } },
    )
  }
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true })
    const page = await context.newPage()
    page.setDefaultTimeout(timeout)
    await page.route('**/*', (route) => route.abort())
    await page.setContent(html, { waitUntil: 'load' })
    const footer = escapeText(options.footer ?? '')
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      preferCSSPageSize: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate:
        `<div style="font:7pt Helvetica,Arial,sans-serif;color:#666;width:100%;padding:0 12mm;display:flex;justify-content:space-between">` +
        `<span>${footer}</span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
    })
    return new Uint8Array(pdf)
  } finally {
    await browser.close()
  }
}

/** A footer line naming the chain head, for reports. */
export function pdfFooter(service: string | null, chainHash: string | null): string {
  return `Wattline transparency report · ${service ?? 'all services'} · ledger head ${shortHash(chainHash)}`
}

function escapeText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

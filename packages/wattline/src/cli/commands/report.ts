/**
 * @module cli/commands/report
 * `wattline report --ledger URL [--service S] --from ISO --to ISO --format json|md|html|pdf|if
 * [--out F] [--impact-manifest F]`: the transparency report of a period, built from the ledger's
 * sealed blocks up to its chain head (docs/reports.md), in the chosen format. `--impact-manifest`
 * also writes the period as a Green Software Foundation Impact Framework manifest (YAML).
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { isAbsolute, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import { hasCode, IDLE_ALLOCATION_RULES, type IdleAllocationRule } from '@wattline/core'
import { openLedgerReportSource } from '../../adapters/storage/ledger-report-source.ts'
import { buildReport } from '../../report/build-report.ts'
import { fmt, shortHash } from '../../report/format.ts'
import { renderImpactManifest } from '../../report/impact-framework.ts'
import { renderHtml } from '../../report/render-html.ts'
import { renderMarkdown } from '../../report/render-markdown.ts'
import { pdfFooter, renderPdf } from '../../report/render-pdf.ts'
import type { Report } from '../../report/report-schema.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { parseIsoFlag } from '../iso-flag.ts'
import type { CliIo } from '../io.ts'

export const REPORT_FORMATS = ['json', 'md', 'html', 'pdf', 'if'] as const
export type ReportFormat = (typeof REPORT_FORMATS)[number]

interface ReportOptions {
  ledger: string
  service?: string
  from: string
  to?: string
  format: ReportFormat
  out?: string
  impactManifest?: string
  generatedAt?: string
  historyDays: number
  anomalyMinRequests?: number
  atHeight?: number
  idleAllocation: IdleAllocationRule
}

/** What the command reads besides its flags; tests pass a fixed clock. */
export interface ReportDeps {
  readonly now: () => number
}

export function register(
  program: Command,
  io: CliIo,
  setExit: (code: ExitCode) => void,
  deps: ReportDeps = { now: () => Date.now() },
): void {
  program
    .command('report')
    .description(
      'Transparency report of a period: energy per 1k requests, carbon by zone, SCI, lifecycle, anomalies, chain head',
    )
    .requiredOption('--ledger <url>', 'ledger URL (sqlite:PATH or postgres://…)')
    .option('--service <name>', 'one service (default: every service)')
    .requiredOption('--from <iso>', 'period start, ISO 8601 (inclusive)')
    .option('--to <iso>', 'period end, ISO 8601 (exclusive; default: now)')
    .addOption(
      new Option(
        '--format <format>',
        'json | md (Markdown) | html | pdf | if (Impact Framework YAML)',
      )
        .choices(REPORT_FORMATS)
        .default('json'),
    )
    .option('--out <file>', 'write here (default: stdout; required for pdf)')
    .option('--impact-manifest <file>', 'also write the period as an Impact Framework manifest')
    .option('--generated-at <iso>', 'timestamp to print as generated_at (reproducible reports)')
    .option(
      '--history-days <n>',
      'days of history before --from the anomaly detector compares against',
      nonNegativeInt('--history-days'),
      14,
    )
    .option(
      '--anomaly-min-requests <n>',
      'skip service hours with fewer successful requests in anomaly detection (default 10)',
      nonNegativeInt('--anomaly-min-requests'),
    )
    .addOption(
      new Option(
        '--idle-allocation <rule>',
        "how the Tenants section shares each backend's idle energy: by active energy, equally, or by requests",
      )
        .choices(IDLE_ALLOCATION_RULES)
        .default('proportional'),
    )
    .option(
      '--at-height <n>',
      'read the ledger as of this many sealed blocks (a past report’s chain_head.height)',
      nonNegativeInt('--at-height'),
    )
    .action(async (opts: ReportOptions) => {
      const fromMs = parseIsoFlag('--from', opts.from)
      const toMs = opts.to === undefined ? deps.now() : parseIsoFlag('--to', opts.to)
      if (toMs <= fromMs)
        throw new ExitError(EXIT.badInput, 'WL_INVALID_INPUT: --to must be after --from')
      const generatedAtMs =
        opts.generatedAt === undefined
          ? deps.now()
          : parseIsoFlag('--generated-at', opts.generatedAt)
      if (opts.format === 'pdf' && opts.out === undefined)
        throw new ExitError(
          EXIT.badInput,
          '--format pdf needs --out FILE (a PDF is not printed to stdout)',
        )
      requireExistingLedger(opts.ledger, io.cwd)

      const { source, close } = await openLedgerReportSource(
        opts.ledger,
        io.cwd,
        opts.atHeight === undefined
          ? { mustExist: true }
          : { atHeight: opts.atHeight, mustExist: true },
      )
      let report: Report
      try {
        report = await buildReport(
          source,
          { fromMs, toMs, service: opts.service ?? null },
          {
            generatedAtMs,
            generator: 'wattline 0.1.0',
            anomalyHistoryDays: opts.historyDays,
            idleAllocation: opts.idleAllocation,
            ...(opts.anomalyMinRequests === undefined
              ? {}
              : { anomalyMinRequestsPerHour: opts.anomalyMinRequests }),
          },
        )
      } finally {
        await close()
      }
      if (opts.service !== undefined && report.totals.requests === 0)
        io.stderr.write(
          `wattline: warning: no requests of service "${opts.service}" in the period; the report is empty apart from lifecycle inputs\n`,
        )

      const body = await render(report, opts.format, io)
      if (opts.out === undefined) io.stdout.write(typeof body === 'string' ? body : '')
      else await writeFile(resolve(io.cwd, opts.out), body)
      if (opts.impactManifest !== undefined)
        await writeFile(resolve(io.cwd, opts.impactManifest), renderImpactManifest(report))
      if (opts.out !== undefined)
        io.stderr.write(
          `wrote ${opts.format} report to ${opts.out}: ${report.totals.requests} requests, ` +
            `${fmt(report.energy_per_1k_requests_wh?.value)} Wh per 1k requests, ` +
            `SCI ${fmt(report.sci.per_request.sci_g?.value)} gCO2e per request, ` +
            `chain head ${shortHash(report.chain_head.hash)}\n`,
        )
      setExit(EXIT.ok)
    })
}

async function render(
  report: Report,
  format: ReportFormat,
  io: CliIo,
): Promise<string | Uint8Array> {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`
    case 'md':
      return renderMarkdown(report)
    case 'html':
      return renderHtml(report)
    case 'if':
      return renderImpactManifest(report)
    case 'pdf':
      try {
        return await renderPdf(renderHtml(report), {
          env: io.env,
          footer: pdfFooter(report.scope.service, report.chain_head.hash),
        })
      } catch (error) {
        if (hasCode(error, 'WL_BROWSER_UNAVAILABLE'))
          throw new ExitError(EXIT.badInput, `${error.code}: ${error.message}`)
        throw error
      }
  }
}

/** A report never creates a ledger: a mistyped SQLite path must not yield an empty report. */
function requireExistingLedger(url: string, cwd: string): void {
  if (!url.startsWith('sqlite:')) return
  const path = url.slice('sqlite:'.length)
  if (path === '' || path === ':memory:')
    throw new ExitError(EXIT.badInput, '--ledger sqlite::memory: is always empty; give a file')
  const file = isAbsolute(path) ? path : resolve(cwd, path)
  if (!existsSync(file)) throw new ExitError(EXIT.badInput, `--ledger: no ledger file at ${file}`)
}

function nonNegativeInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
      throw new ExitError(
        EXIT.badInput,
        `${flag} must be a whole number ≥ 0, got ${JSON.stringify(value)}`,
      )
    return n
  }
}

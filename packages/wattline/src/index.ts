/**
 * @module wattline
 * The programmatic entry of the `wattline` package, for embedding what the CLI does: run the
 * gateway from a config file, parse a config, open and verify a ledger, build and render a
 * transparency report. The CLI (`bin/wattline.mjs`) is a thin shell over these same functions.
 * Pure domain types and policies come from `@wattline/core`.
 */
export { startLiveGateway, type LiveGateway, type LiveOptions } from './compose/live.ts'
export { loadConfig, parseConfigText } from './config/load-config.ts'
export type { WattlineConfig } from './config/parse-config.ts'
export { openLedger, openLedgerStore } from './adapters/storage/open-ledger.ts'
export { verifyLedger, exportBundle, verifyBundle } from './adapters/storage/verify-ledger.ts'
export { openLedgerReportSource } from './adapters/storage/ledger-report-source.ts'
export { buildReport, type ReportOptions, type ReportQuery } from './report/build-report.ts'
export type { Report } from './report/report-schema.ts'
export { renderHtml } from './report/render-html.ts'
export { renderMarkdown } from './report/render-markdown.ts'
export { WATTLINE_VERSION } from './version.ts'

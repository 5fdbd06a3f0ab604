/**
 * @module cli/commands/gate
 * `wattline gate --result result.json --config wattline.yaml --service S [--release ID]
 * [--markdown F] [--junit F] [--json]`: the CI release gate. Exit 0 pass, 1 fail, 2 bad input.
 * The decision (with the budget and the release) is appended to the ledger as signed records, and
 * an accepted release becomes the reference for the next regression check.
 */
import { createHash, randomUUID } from 'node:crypto'
import { appendFile, readFile, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import {
  evaluateGate,
  hasCode,
  type AuditRecord,
  type BudgetSpec,
  type GateMeasurement,
} from '@wattline/core'
import { openLedger, ledgerOptionsFromConfig } from '../../adapters/storage/open-ledger.ts'
import { parseBenchResult, type BenchResult } from '../../benchmark/bench-result.ts'
import { coreBudgetSpec, type BudgetConfig } from '../../config/budget.ts'
import { createConfigCatalog } from '../../config/catalog.ts'
import { loadConfig } from '../../config/load-config.ts'
import {
  renderGateJunit,
  renderGateMarkdown,
  type GateReportInput,
} from '../../benchmark/gate-report.ts'
import { EXIT, ExitError, type ExitCode } from '../exit-codes.ts'
import { readCliText } from '../read-cli-text.ts'
import { writeJson, type CliIo } from '../io.ts'

interface GateOptions {
  result: string
  config: string
  service: string
  release?: string
  ledger?: string
  markdown?: string
  junit?: string
  json?: boolean
}

/** The `--json` output and the content of the reports. */
export interface GateReport extends GateReportInput {
  readonly result_sha256: string
  readonly ledger: string
}

export function register(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('gate')
    .description(
      'CI release gate: hold a bench result against the service budget (0 pass, 1 fail, 2 bad input)',
    )
    .requiredOption('--result <file>', 'result.json written by `wattline bench`')
    .requiredOption('--config <file>', 'wattline.yaml with the service budget')
    .requiredOption('--service <name>', 'service whose budget applies')
    .option('--release <id>', 'release id (default: the result’s, else model@started_at)')
    .option(
      '--ledger <url>',
      'ledger to record the decision in (default: ledger.url of the config)',
    )
    .option('--markdown <file>', 'write a Markdown summary (also appended to $GITHUB_STEP_SUMMARY)')
    .option('--junit <file>', 'write JUnit XML')
    .option('--json', 'machine-readable output')
    .action(async (opts: GateOptions) => {
      const report = await runGate(opts, io)
      const md = renderGateMarkdown(report)
      if (opts.markdown !== undefined) await writeFile(resolve(io.cwd, opts.markdown), md)
      const summary = io.env['GITHUB_STEP_SUMMARY']
      if (summary !== undefined && summary !== '') await appendFile(summary, md)
      if (opts.junit !== undefined)
        await writeFile(resolve(io.cwd, opts.junit), renderGateJunit(report))
      if (opts.json === true) writeJson(io, report)
      else {
        io.stdout.write(
          `${report.passed ? 'PASS' : 'FAIL'} ${report.service} release ${report.release}\n`,
        )
        for (const c of report.verdict.checks)
          io.stdout.write(`  ${c.passed ? '✓' : '✗'} ${c.name}: ${c.message}\n`)
      }
      setExit(report.passed ? EXIT.ok : EXIT.negative)
    })
}

async function runGate(opts: GateOptions, io: CliIo): Promise<GateReport> {
  const resultPath = resolve(io.cwd, opts.result)
  const text = await readCliText(resultPath, `result ${opts.result}`)
  const result = parseBenchResult(text, opts.result)
  const configPath = resolve(io.cwd, opts.config)
  const config = await loadConfig(configPath, {
    readFile: (p, enc) => readFile(p, enc),
    env: io.env,
    catalog: createConfigCatalog(),
  })
  const service = config.services.find((s) => s.name === opts.service)
  if (service === undefined) {
    const names = config.services.map((s) => s.name).join(', ')
    throw new ExitError(
      EXIT.badInput,
      `${opts.config}: unknown service ${JSON.stringify(opts.service)} (services: ${names})`,
    )
  }
  const budget = service.budget as BudgetConfig | undefined
  if (budget === undefined) {
    throw new ExitError(
      EXIT.badInput,
      `${opts.config}: service ${opts.service} has no budget: section`,
    )
  }
  const family = budget.families.find((f) =>
    result.model.toLowerCase().startsWith(f.family.toLowerCase()),
  )
  const spec = coreBudgetSpec(family ?? budget)
  const measurement = measurementOf(result, spec.metric, opts.result)
  const release = opts.release ?? result.release ?? `${result.model}@${result.started_at}`
  const resultSha = createHash('sha256').update(text).digest('hex')
  const ledgerUrl = opts.ledger ?? config.ledger.url
  const ledger = await openLedger(
    ledgerUrl,
    ledgerOptionsFromConfig(config.ledger, dirname(configPath)),
  )
  try {
    const familyName = family?.family ?? null
    const previous = await ledger.store.lastAcceptedRelease(opts.service, familyName)
    const verdict = evaluateGate(
      spec,
      measurement,
      previous === null || previous.metric !== spec.metric
        ? null
        : { release: previous.id, value: previous.value },
    )
    const now = Date.now()
    const decisionId = randomUUID()
    const records: AuditRecord[] = [
      {
        kind: 'budget',
        at_ms: now,
        service: opts.service,
        family: familyName,
        metric: spec.metric,
        baseline: spec.baseline,
        stage: spec.stage,
        target: verdict.target.target,
        variance_pct: spec.variance_pct,
        max_regression_pct: spec.max_regression_pct,
      },
      {
        kind: 'release',
        id: release,
        at_ms: now,
        service: opts.service,
        family: familyName,
        model: result.model,
        accepted: verdict.passed,
        metric: spec.metric,
        value: measurement.value,
        low: measurement.low,
        high: measurement.high,
        method: measurement.method,
      },
      {
        kind: 'gate',
        id: decisionId,
        at_ms: now,
        service: opts.service,
        release,
        passed: verdict.passed,
        metric: spec.metric,
        value: measurement.value,
        high: measurement.high,
        target: verdict.target.target,
        limit: verdict.target.limit,
        previous_release: verdict.previous?.release ?? null,
        previous_value: verdict.previous?.value ?? null,
        regression_pct: verdict.regression_pct,
        reasons: JSON.stringify(verdict.checks),
        result_sha256: resultSha,
      },
    ]
    await ledger.sink.writeNow(records)
    return {
      passed: verdict.passed,
      service: opts.service,
      family: familyName,
      release,
      model: result.model,
      verdict,
      decision_id: decisionId,
      result_sha256: resultSha,
      ledger: ledgerUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
    }
  } catch (error) {
    if (hasCode(error, 'WL_LEDGER_WRITE'))
      throw new ExitError(EXIT.internal, `cannot record the decision: ${(error as Error).message}`)
    throw error
  } finally {
    await ledger.close()
  }
}

function measurementOf(
  result: BenchResult,
  metric: BudgetSpec['metric'],
  file: string,
): GateMeasurement {
  const f = result.metrics[metric]
  if (f === null) {
    const hint = metric === 'carbon_per_1k_requests_g' ? ' (run bench with --zone)' : ''
    throw new ExitError(
      EXIT.badInput,
      `${file}: metrics.${metric} is null: the result cannot be judged on this budget${hint}`,
    )
  }
  return f
}

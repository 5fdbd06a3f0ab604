/**
 * @module benchmark/gate-report
 * The gate's Markdown summary (for `$GITHUB_STEP_SUMMARY` and PR comments) and JUnit XML (one test
 * case per check, so CI systems list budget and regression separately).
 */
import { formatNumber, type GateVerdict } from '@wattline/core'

export interface GateReportInput {
  readonly passed: boolean
  readonly service: string
  readonly family: string | null
  readonly release: string
  readonly model: string
  readonly verdict: GateVerdict
  readonly decision_id: string
}

/** A Markdown section with the verdict, every number and each check. */
export function renderGateMarkdown(r: GateReportInput): string {
  const v = r.verdict
  const t = v.target
  const m = v.measurement
  const n = formatNumber
  const rows = [
    ['metric', `\`${t.metric}\` (${t.unit})`],
    ['measured', `${n(m.value)} [${n(m.low)}, ${n(m.high)}] (${m.method}; ${m.source})`],
    ['baseline', n(t.baseline)],
    [
      'target',
      `${n(t.target)} (${t.reduction_pct === null ? 'explicit' : `${t.stage}: −${n(t.reduction_pct)} %`})`,
    ],
    ['limit', `${n(t.limit)} (target + ${n(t.variance_pct)} % variance)`],
    ['budget ratio', `${n(v.budget_ratio)} (upper bound / limit)`],
    [
      'previous release',
      v.previous === null
        ? 'none accepted yet'
        : `${v.previous.release}: ${n(v.previous.value)} (${v.regression_pct === null ? '' : `${v.regression_pct >= 0 ? '+' : ''}${n(v.regression_pct)} %`}, limit +${n(v.max_regression_pct)} %)`,
    ],
  ]
  return [
    `### Wattline energy gate: ${r.passed ? '✅ pass' : '❌ fail'}`,
    '',
    `Service \`${r.service}\`${r.family === null ? '' : ` (family \`${r.family}\`)`}, release \`${r.release}\`, model \`${r.model}\`.`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, val]) => `| ${k} | ${val} |`),
    '',
    ...v.checks.map((c) => `- ${c.passed ? '✅' : '❌'} **${c.name}**: ${c.message}`),
    '',
    `Decision \`${r.decision_id}\` recorded in the ledger (signed).`,
    '',
  ].join('\n')
}

/** JUnit XML: suite `wattline-gate`, one case per check. */
export function renderGateJunit(r: GateReportInput): string {
  const failures = r.verdict.checks.filter((c) => !c.passed).length
  const cases = r.verdict.checks.map((c) => {
    const open = `    <testcase classname="wattline.gate.${xml(r.service)}" name="${xml(c.name)}">`
    return c.passed
      ? `${open}</testcase>`
      : `${open}\n      <failure message="${xml(c.message)}" type="${xml(c.name)}">${xml(c.message)}</failure>\n    </testcase>`
  })
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="wattline" tests="${r.verdict.checks.length}" failures="${failures}">`,
    `  <testsuite name="wattline-gate ${xml(r.service)} ${xml(r.release)}" tests="${r.verdict.checks.length}" failures="${failures}" errors="0">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n')
}

function xml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
}

/**
 * Derives the demo's shipped traffic sample from the Azure LLM inference conversation trace.
 *
 * Input: `../shared/data/azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv` (CC-BY 4.0,
 * Patel et al., "Splitwise", ISCA 2024; see that folder's SOURCE.md). Output:
 * `packages/wattline/data/azure-conv-sample.json`: every 10th request of the trace (a systematic
 * 1-in-10 sample, which keeps the hour's arrival-rate shape and the token-length distributions at a
 * tenth of the rate), as `[arrival_offset_ms, input_tokens, output_tokens]` rows.
 *
 * Run: `npm run derive:demo-trace -w wattline` (or `node --import tsx packages/wattline/scripts/derive-demo-trace.ts`).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '../../..')
const SOURCE_DIR = resolve(REPO, '../shared/data/azure-llm-inference-2023')
const INPUT = join(SOURCE_DIR, 'AzureLLMInferenceTrace_conv.csv')
const OUTPUT = resolve(HERE, '../data/azure-conv-sample.json')
/** Keep one request in this many (systematic sampling, starting with the first). */
const STRIDE = 10

/** Parses `YYYY-MM-DD HH:MM:SS.fffffff` (no zone; treated as UTC) to epoch milliseconds. */
function parseTimestamp(text: string, line: number): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text)
  if (!m) throw new Error(`${INPUT}:${line}:1: bad TIMESTAMP ${JSON.stringify(text)}`)
  const [, y, mo, d, h, mi, s, frac = '0'] = m
  const whole = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  return whole + Number(`0.${frac}`) * 1000
}

function parseCount(text: string | undefined, line: number, column: number, name: string): number {
  const n = Number(text)
  if (text === undefined || text === '' || !Number.isInteger(n) || n < 0) {
    throw new Error(
      `${INPUT}:${line}:${column}: ${name} is not a non-negative integer: ${String(text)}`,
    )
  }
  return n
}

const lines = readFileSync(INPUT, 'utf8').split(/\r?\n/)
if (lines[0]?.trim() !== 'TIMESTAMP,ContextTokens,GeneratedTokens') {
  throw new Error(`${INPUT}:1:1: unexpected header ${JSON.stringify(lines[0])}`)
}
const rows: [number, number, number][] = []
let first: number | undefined
let kept = 0
for (let i = 1; i < lines.length; i += 1) {
  const text = lines[i]?.trim()
  if (!text) continue
  const index = kept
  kept += 1
  if (index % STRIDE !== 0) continue
  const [ts, input, output] = text.split(',')
  const at = parseTimestamp(ts ?? '', i + 1)
  first ??= at
  rows.push([
    Math.round(at - first),
    parseCount(input, i + 1, 2, 'ContextTokens'),
    parseCount(output, i + 1, 3, 'GeneratedTokens'),
  ])
}

const sample = {
  format: 'wattline-trace-sample/1',
  description:
    'Every 10th request of the Azure LLM inference trace 2023 (conversation), as [arrival_offset_ms, input_tokens, output_tokens].',
  source:
    'Azure/AzurePublicDataset data/AzureLLMInferenceTrace_conv.csv (commit b469a113), via ../shared/data/azure-llm-inference-2023/SOURCE.md',
  licence:
    'CC-BY 4.0. Cite: Patel et al., "Splitwise: Efficient generative LLM inference using phase splitting", ISCA 2024.',
  derived_by: 'packages/wattline/scripts/derive-demo-trace.ts',
  stride: STRIDE,
  source_requests: kept,
  columns: ['arrival_offset_ms', 'input_tokens', 'output_tokens'],
  rows,
}
// One row per line keeps diffs readable and the file small.
const body = JSON.stringify({ ...sample, rows: [] }, null, 2).replace(
  '"rows": []',
  `"rows": [\n${rows.map((r) => `    ${JSON.stringify(r)}`).join(',\n')}\n  ]`,
)
writeFileSync(OUTPUT, `${body}\n`)
console.log(`wrote ${OUTPUT}: ${rows.length} rows from ${kept} requests (${body.length} bytes)`)

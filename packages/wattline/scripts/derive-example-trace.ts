/**
 * Derives the README tour's trace sample, `examples/azure-llm-conv-sample.csv`, from the Azure LLM
 * inference conversation trace in `../shared/data/azure-llm-inference-2023/` (CC-BY 4.0, Patel et
 * al., "Splitwise", ISCA 2024; see that folder's SOURCE.md and examples/azure-llm-conv-sample.md).
 *
 * The sample is every 64th request of the trace (a systematic 1-in-64 sample starting with the
 * first, which keeps the hour's arrival shape and the token-length distributions), with the
 * source's lines copied unchanged, so `replay` and `bench` read it as the original Azure CSV.
 *
 * Run: `npm run derive:example-trace`.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '../../..')
const INPUT = resolve(
  REPO,
  '../shared/data/azure-llm-inference-2023/AzureLLMInferenceTrace_conv.csv',
)
const OUTPUT = join(REPO, 'examples/azure-llm-conv-sample.csv')
const HEADER = 'TIMESTAMP,ContextTokens,GeneratedTokens'
/** Keep one request in this many. */
const STRIDE = 64

const lines = readFileSync(INPUT, 'utf8').split(/\r?\n/)
if (lines[0]?.trim() !== HEADER) {
  throw new Error(`${INPUT}:1:1: unexpected header ${JSON.stringify(lines[0])}`)
}
const requests = lines
  .slice(1)
  .map((l) => l.trim())
  .filter((l) => l !== '')
for (const [i, line] of requests.entries()) {
  if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?,\d+,\d+$/.test(line)) {
    throw new Error(
      `${INPUT}:${String(i + 2)}: not TIMESTAMP,ContextTokens,GeneratedTokens: ${line}`,
    )
  }
}
const kept = requests.filter((_, i) => i % STRIDE === 0)
writeFileSync(OUTPUT, `${[HEADER, ...kept].join('\n')}\n`)
console.log(
  `wrote ${OUTPUT}: ${String(kept.length)} of ${String(requests.length)} requests (1 in ${String(STRIDE)})`,
)

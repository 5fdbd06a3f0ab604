/**
 * @module sim/trace-sample
 * The demo's shipped traffic sample: every 10th request of the Azure LLM inference conversation
 * trace 2023 (CC-BY 4.0, Patel et al., Splitwise, ISCA 2024), derived by
 * `packages/wattline/scripts/derive-demo-trace.ts` into `packages/wattline/data/azure-conv-sample.json`.
 * Shipped in the repo so that the demo and the simulated backends work from a fresh clone.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { WattlineError } from '@wattline/core'

/** One request of the trace. */
export interface TraceRequest {
  /** Arrival time after the first request of the sample (ms). */
  readonly arrivalOffsetMs: number
  readonly inputTokens: number
  readonly outputTokens: number
}

export interface TraceSample {
  readonly source: string
  readonly licence: string
  /** Requests in arrival order. */
  readonly requests: readonly TraceRequest[]
  /** Time from the first to the last arrival (ms). */
  readonly spanMs: number
}

/** Where the shipped sample lives. */
export const DEMO_TRACE_PATH: string = fileURLToPath(
  new URL('../../data/azure-conv-sample.json', import.meta.url),
)

const FORMAT = 'wattline-trace-sample/1'

/** Parses the sample's JSON text; errors name the file and the row (1-based) at fault. */
export function parseTraceSample(text: string, file: string): TraceSample {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (cause) {
    throw new WattlineError('WL_TRACE_FORMAT', `${file}: not valid JSON`, { cause })
  }
  const d = doc as { format?: unknown; source?: unknown; licence?: unknown; rows?: unknown }
  if (typeof doc !== 'object' || doc === null || d.format !== FORMAT) {
    throw new WattlineError('WL_TRACE_FORMAT', `${file}: field "format" must be "${FORMAT}"`)
  }
  if (!Array.isArray(d.rows) || d.rows.length === 0) {
    throw new WattlineError('WL_TRACE_FORMAT', `${file}: field "rows" must be a non-empty array`)
  }
  const requests: TraceRequest[] = []
  let previous = 0
  d.rows.forEach((row: unknown, i: number) => {
    const ok =
      Array.isArray(row) &&
      row.length === 3 &&
      row.every((v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0)
    if (!ok) {
      throw new WattlineError(
        'WL_TRACE_FORMAT',
        `${file}: rows[${i}] must be [arrival_offset_ms, input_tokens, output_tokens] (non-negative integers), got ${JSON.stringify(row)}`,
      )
    }
    const [at, input, output] = row as [number, number, number]
    if (at < previous) {
      throw new WattlineError(
        'WL_TRACE_FORMAT',
        `${file}: rows[${i}] arrives at ${at} ms, before the previous row (${previous} ms)`,
      )
    }
    previous = at
    requests.push({ arrivalOffsetMs: at, inputTokens: input, outputTokens: output })
  })
  return Object.freeze({
    source: typeof d.source === 'string' ? d.source : file,
    licence: typeof d.licence === 'string' ? d.licence : 'unknown',
    requests: Object.freeze(requests),
    spanMs: previous,
  })
}

let cached: TraceSample | undefined

/** Reads the shipped sample (once; later calls return the same frozen value). */
export function loadDemoTrace(): TraceSample {
  cached ??= parseTraceSample(readFileSync(DEMO_TRACE_PATH, 'utf8'), DEMO_TRACE_PATH)
  return cached
}

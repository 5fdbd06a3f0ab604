/**
 * @module benchmark/bench-result
 * The `result.json` that `wattline bench` writes and `wattline gate` reads (schema
 * `wattline-bench-result/1`, documented in docs/budgets.md). Parsing is strict and every problem
 * names the file and the field, so a truncated or hand-edited result is rejected with exit 2.
 */
import * as z from 'zod'
import { WattlineError } from '@wattline/core'

export const BENCH_RESULT_SCHEMA = 'wattline-bench-result/1'

const finite = z.number().refine(Number.isFinite, { error: 'must be a finite number' })
const nonNegative = finite.refine((n) => n >= 0, { error: 'must be ≥ 0' })

/** A figure with its interval, method and source (metric unit). */
export const figureSchema = z
  .strictObject({
    value: nonNegative,
    low: nonNegative,
    high: nonNegative,
    method: z.enum(['measured', 'modelled']),
    source: z.string().min(1),
  })
  .refine((f) => f.low <= f.value && f.value <= f.high, { error: 'needs low ≤ value ≤ high' })
export type Figure = z.infer<typeof figureSchema>

const intervalSchema = z.strictObject({ value: nonNegative, low: nonNegative, high: nonNegative })

/** One repeat of the workload. */
export const benchRunSchema = z.strictObject({
  requests: z.int().min(0),
  ok: z.int().min(0),
  errors: z.int().min(0),
  input_tokens: z.int().min(0),
  output_tokens: z.int().min(0),
  duration_ms: nonNegative,
  latency_ms_p50: nonNegative,
  latency_ms_p95: nonNegative,
  energy_j: intervalSchema,
  carbon_g: intervalSchema.nullable(),
})
export type BenchRun = z.infer<typeof benchRunSchema>

export const benchResultSchema = z.strictObject({
  schema: z.literal(BENCH_RESULT_SCHEMA),
  release: z.string().min(1).nullable(),
  target: z.string().min(1),
  model: z.string().min(1),
  hardware: z.string().nullable(),
  precision: z.string().nullable(),
  zone: z.string().nullable(),
  started_at: z.iso.datetime(),
  finished_at: z.iso.datetime(),
  workload: z.strictObject({
    file: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    format: z.string(),
    requests: z.int().min(1),
    seed: z.int(),
    concurrency: z.int().min(1),
  }),
  meter: z.strictObject({
    kind: z.enum(['model', 'nvidia-smi', 'prometheus']),
    method: z.enum(['measured', 'modelled']),
    source: z.string(),
  }),
  intensity: z
    .strictObject({ zone: z.string(), g_per_kwh: nonNegative, source: z.string() })
    .nullable(),
  runs: z.array(benchRunSchema).min(1),
  metrics: z.strictObject({
    energy_per_1k_requests_wh: figureSchema,
    energy_per_output_token_j: figureSchema.nullable(),
    carbon_per_1k_requests_g: figureSchema.nullable(),
  }),
  confidence: z.string(),
  provenance: z.strictObject({
    wattline_version: z.string(),
    node: z.string(),
    host: z.string(),
  }),
})
export type BenchResult = z.infer<typeof benchResultSchema>

/** Parses result text; throws `WL_INVALID_INPUT` naming `file` and the field or JSON position. */
export function parseBenchResult(text: string, file: string): BenchResult {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (cause) {
    const hint = text.trim().length === 0 ? 'the file is empty' : (cause as Error).message
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${file}: not valid JSON (${hint}); is the result truncated?`,
      { cause, details: { file } },
    )
  }
  const parsed = benchResultSchema.safeParse(data)
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `${file}: ${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`,
    )
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `invalid bench result:\n${issues.slice(0, 10).join('\n')}`,
      { details: { file, issues } },
    )
  }
  const r = parsed.data
  if (r.runs.some((run) => run.ok === 0)) {
    throw new WattlineError(
      'WL_INVALID_INPUT',
      `${file}: runs: a repeat has no successful request; its energy cannot be judged`,
      { details: { file } },
    )
  }
  return r
}

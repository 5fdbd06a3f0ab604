/**
 * @module energy/measurements
 * Translates the ML.ENERGY result files (already parsed from JSON by the caller) into measured rows
 * of one shape. Only LLM text-generation runs are kept; diffusion and multimodal runs measure other
 * work. A record missing a field or holding a non-positive number is a `WL_DATA_FORMAT` error that
 * names the file, the record index and the field.
 */
import { WattlineError } from '../errors.ts'
import { findHardware } from '../catalog/hardware.ts'
import type { Precision } from './profile.ts'

export const MLENERGY_DATASETS = ['mlenergy-benchmark-v3', 'mlenergy-leaderboard-v2'] as const
export type MlEnergyDataset = (typeof MLENERGY_DATASETS)[number]

/** One measured steady-state serving run. */
export interface MeasuredRow {
  readonly dataset: MlEnergyDataset
  readonly task: string
  /** Model id as written in the data. */
  readonly model: string
  /** Hardware catalogue id. */
  readonly hardware: string
  readonly precision: Precision
  /** GPUs of one replica (tensor × pipeline × expert parallel as reported). */
  readonly gpus: number
  /** Configured maximum batch (max_num_seqs). */
  readonly maxBatch: number
  /** Measured mean running batch, sequences. */
  readonly batch: number
  /** GPU energy per output token, J (all GPUs of the replica). */
  readonly energyPerOutputTokenJ: number
  /** Median (v3) or mean (v2) inter-token latency, ms. */
  readonly timePerOutputTokenMs: number
  /** Mean output tokens per request of the run (the request mix's output length). */
  readonly outputTokens: number
  /** Parameters as stated by the data, billions (v3 only). */
  readonly activeParamsB?: number
  readonly totalParamsB?: number
}

/**
 * Rows of an ML.ENERGY benchmark v3 task file (`tasks/<task>.json`: `{task, configurations:[…]}`).
 * @param file the file's name, for error messages
 */
export function parseBenchmarkV3Task(json: unknown, file: string): MeasuredRow[] {
  const root = asRecord(json, file, 'the file')
  const task = str(root, 'task', file, 'the file')
  const configs = root['configurations']
  if (!Array.isArray(configs)) throw formatError(file, 'the file', 'configurations', 'an array')
  return configs.map((c: unknown, i) => {
    const where = `configurations[${i}]`
    const r = asRecord(c, file, where)
    const gpu = str(r, 'gpu_model', file, where)
    const precisionText = str(r, 'weight_precision', file, where)
    return {
      dataset: 'mlenergy-benchmark-v3',
      task,
      model: str(r, 'model_id', file, where),
      hardware: hardwareId(gpu, file, where),
      precision: precisionOf(precisionText, file, where),
      gpus: positive(r, 'num_gpus', file, where),
      maxBatch: positive(r, 'max_num_seqs', file, where),
      batch: positive(r, 'avg_batch_size', file, where),
      energyPerOutputTokenJ: positive(r, 'energy_per_token_joules', file, where),
      timePerOutputTokenMs: positive(r, 'median_itl_ms', file, where),
      outputTokens: positive(r, 'avg_output_len', file, where),
      activeParamsB: positive(r, 'activated_params_billions', file, where),
      totalParamsB: positive(r, 'total_params_billions', file, where),
    }
  })
}

/**
 * Rows of ML.ENERGY leaderboard v2 `llm_and_mllm_runs.json` (an array of run records). Keeps
 * `category = llm_text_generation`; energy per token = `Energy/req (J)` / `Avg Output Tokens`.
 */
export function parseLeaderboardV2Runs(json: unknown, file: string): MeasuredRow[] {
  if (!Array.isArray(json)) throw formatError(file, 'the file', '(root)', 'an array of runs')
  const rows: MeasuredRow[] = []
  json.forEach((c: unknown, i) => {
    const where = `[${i}]`
    const r = asRecord(c, file, where)
    if (str(r, 'category', file, where) !== 'llm_text_generation') return
    const energyPerRequest = positive(r, 'Energy/req (J)', file, where)
    const outputTokens = positive(r, 'Avg Output Tokens', file, where)
    const tp = positive(r, 'TP', file, where)
    const pp = positive(r, 'PP', file, where)
    rows.push({
      dataset: 'mlenergy-leaderboard-v2',
      task: str(r, 'task', file, where),
      model: str(r, 'Model', file, where),
      hardware: hardwareId(str(r, 'GPU', file, where), file, where),
      precision: 'bf16',
      gpus: tp * pp,
      maxBatch: positive(r, 'Max BS (reqs)', file, where),
      batch: positive(r, 'Avg BS (reqs)', file, where),
      energyPerOutputTokenJ: energyPerRequest / outputTokens,
      timePerOutputTokenMs: positive(r, 'Avg TPOT (s)', file, where) * 1000,
      outputTokens,
    })
  })
  return rows
}

function precisionOf(text: string, file: string, where: string): Precision {
  const t = text.toLowerCase()
  if (t === 'bfloat16' || t === 'bf16') return 'bf16'
  if (t === 'float16' || t === 'fp16') return 'fp16'
  if (t === 'fp8') return 'fp8'
  if (t === 'mxfp4' || t === 'int4') return 'int4'
  throw formatError(file, where, 'weight_precision', `a known precision, got "${text}"`)
}

function hardwareId(name: string, file: string, where: string): string {
  const hw = findHardware(name)
  if (hw === undefined) throw formatError(file, where, 'gpu', `a catalogued GPU, got "${name}"`)
  return hw.id
}

function asRecord(v: unknown, file: string, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw formatError(file, where, '(record)', 'an object')
  }
  return v as Record<string, unknown>
}

function str(r: Record<string, unknown>, field: string, file: string, where: string): string {
  const v = r[field]
  if (typeof v !== 'string' || v.length === 0) throw formatError(file, where, field, 'a string')
  return v
}

function positive(r: Record<string, unknown>, field: string, file: string, where: string): number {
  const v = r[field]
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw formatError(file, where, field, `a positive number, got ${JSON.stringify(v)}`)
  }
  return v
}

function formatError(file: string, where: string, field: string, expected: string): WattlineError {
  return new WattlineError(
    'WL_DATA_FORMAT',
    `${file}: ${where}: field "${field}" must be ${expected}`,
    { details: { file, record: where, field } },
  )
}

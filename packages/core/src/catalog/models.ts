/**
 * @module catalog/models
 * The model catalogue: Hugging Face ids, aliases, total and active parameters (billions) and
 * architecture. Lookup is case- and punctuation-insensitive over the id, the part after the
 * organisation (`llama-3.1-8b-instruct`) and explicit aliases. Parameter counts come from the
 * ML.ENERGY data where it lists the model (benchmark v3 `index.json`, leaderboard v2
 * `models_by_task.json`), otherwise from the model card named in `source`.
 */
import { WattlineError } from '../errors.ts'
import type { Precision } from '../energy/profile.ts'
import { closeMatches, normaliseId } from '../text/close-matches.ts'

export const ARCHITECTURES = ['dense', 'moe', 'hybrid'] as const
export type Architecture = (typeof ARCHITECTURES)[number]

export interface ModelSpec {
  /** Hugging Face id, e.g. `meta-llama/Llama-3.1-8B-Instruct`. */
  readonly id: string
  readonly aliases: readonly string[]
  /** Total parameters, billions. */
  readonly totalParamsB: number
  /** Parameters active per token, billions (= total for dense models). */
  readonly activeParamsB: number
  readonly architecture: Architecture
  /** Precision of the published checkpoint (`fp8` for `-FP8` checkpoints). */
  readonly defaultPrecision: Precision
  /** For a quantised checkpoint, the id of the model it quantises. */
  readonly baseModel?: string
  readonly source: string
}

const V3 = 'ML.ENERGY benchmark v3 index.json'
const V2 = 'ML.ENERGY leaderboard v2 models_by_task.json'

type Row = readonly [
  id: string,
  total: number,
  active: number,
  arch: Architecture,
  source: string,
  extra?: { aliases?: readonly string[]; precision?: Precision; base?: string },
]

const ROWS: readonly Row[] = [
  // ML.ENERGY benchmark v3 (LLM tasks)
  ['Qwen/Qwen3-8B', 8, 8, 'dense', V3],
  ['Qwen/Qwen3-14B', 14, 14, 'dense', V3],
  ['Qwen/Qwen3-32B', 32, 32, 'dense', V3],
  ['Qwen/Qwen3-30B-A3B-Instruct-2507', 30, 3, 'moe', V3, { aliases: ['qwen3-30b-a3b'] }],
  ['Qwen/Qwen3-235B-A22B-Instruct-2507', 235, 22, 'moe', V3, { aliases: ['qwen3-235b-a22b'] }],
  [
    'Qwen/Qwen3-235B-A22B-Instruct-2507-FP8',
    235,
    22,
    'moe',
    V3,
    { precision: 'fp8', base: 'Qwen/Qwen3-235B-A22B-Instruct-2507' },
  ],
  ['Qwen/Qwen3-Coder-30B-A3B-Instruct', 30, 3, 'moe', V3],
  ['Qwen/Qwen3-Coder-480B-A35B-Instruct', 480, 35, 'moe', V3],
  [
    'Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8',
    480,
    35,
    'moe',
    V3,
    { precision: 'fp8', base: 'Qwen/Qwen3-Coder-480B-A35B-Instruct' },
  ],
  ['deepseek-ai/DeepSeek-V3.1', 671, 37, 'moe', V3, { precision: 'fp8', aliases: ['deepseek-v3'] }],
  [
    'deepseek-ai/DeepSeek-R1-0528',
    671,
    37,
    'moe',
    V3,
    { precision: 'fp8', aliases: ['deepseek-r1'] },
  ],
  ['google/gemma-3-12b-it', 12, 12, 'dense', V3],
  ['google/gemma-3-27b-it', 27, 27, 'dense', V3],
  [
    'meta-llama/Llama-3.1-8B-Instruct',
    8,
    8,
    'dense',
    V3,
    { aliases: ['meta-llama/Meta-Llama-3.1-8B-Instruct', 'llama-3.1-8b', 'llama3.1-8b'] },
  ],
  [
    'meta-llama/Llama-3.1-70B-Instruct',
    70,
    70,
    'dense',
    V3,
    { aliases: ['meta-llama/Meta-Llama-3.1-70B-Instruct', 'llama-3.1-70b', 'llama3.1-70b'] },
  ],
  [
    'meta-llama/Llama-3.1-405B-Instruct',
    405,
    405,
    'dense',
    V3,
    { aliases: ['meta-llama/Meta-Llama-3.1-405B-Instruct', 'llama-3.1-405b'] },
  ],
  [
    'meta-llama/Llama-3.1-405B-Instruct-FP8',
    405,
    405,
    'dense',
    V3,
    { precision: 'fp8', base: 'meta-llama/Llama-3.1-405B-Instruct' },
  ],
  ['meta-llama/Llama-3.3-70B-Instruct', 70, 70, 'dense', V3, { aliases: ['llama-3.3-70b'] }],
  ['meta-llama/Llama-4-Scout-17B-16E-Instruct', 109, 17, 'moe', V3, { aliases: ['llama-4-scout'] }],
  [
    'meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8',
    400,
    17,
    'moe',
    V3,
    { precision: 'fp8', aliases: ['llama-4-maverick'] },
  ],
  ['nvidia/NVIDIA-Nemotron-Nano-9B-v2', 9, 9, 'hybrid', V3, { aliases: ['nemotron-nano-9b'] }],
  ['nvidia/NVIDIA-Nemotron-Nano-12B-v2', 12, 12, 'hybrid', V3, { aliases: ['nemotron-nano-12b'] }],
  ['openai/gpt-oss-20b', 21, 4, 'moe', `${V3} (weights MXFP4)`, { precision: 'int4' }],
  ['openai/gpt-oss-120b', 117, 5, 'moe', `${V3} (weights MXFP4)`, { precision: 'int4' }],
  // ML.ENERGY leaderboard v2 (2024; `params` there is the total count, rounded)
  ['google/gemma-2-2b-it', 2, 2, 'dense', V2],
  ['google/gemma-2-9b-it', 9, 9, 'dense', V2],
  ['google/gemma-2-27b-it', 27, 27, 'dense', V2],
  ['microsoft/Phi-3-mini-4k-instruct', 4, 4, 'dense', V2, { aliases: ['phi-3-mini'] }],
  ['microsoft/Phi-3-small-8k-instruct', 7, 7, 'dense', V2, { aliases: ['phi-3-small'] }],
  ['microsoft/Phi-3-medium-4k-instruct', 14, 14, 'dense', V2, { aliases: ['phi-3-medium'] }],
  ['mistralai/Mistral-7B-Instruct-v0.3', 7, 7, 'dense', V2, { aliases: ['mistral-7b'] }],
  ['mistralai/Mistral-Nemo-Instruct-2407', 12, 12, 'dense', V2, { aliases: ['mistral-nemo'] }],
  ['mistralai/Mistral-Large-Instruct-2407', 123, 123, 'dense', V2, { aliases: ['mistral-large'] }],
  [
    'mistralai/Mixtral-8x7B-Instruct-v0.1',
    46.7,
    12.9,
    'moe',
    'Mistral AI, "Mixtral of experts" (2024): 46.7B total, 12.9B active',
    { aliases: ['mixtral-8x7b'] },
  ],
  [
    'mistralai/Mixtral-8x22B-Instruct-v0.1',
    141,
    39,
    'moe',
    'Mistral AI, Mixtral 8x22B announcement (2024): 141B total, 39B active',
    { aliases: ['mixtral-8x22b'] },
  ],
  ['bigcode/starcoder2-3b', 3, 3, 'dense', V2],
  ['bigcode/starcoder2-7b', 7, 7, 'dense', V2],
  ['bigcode/starcoder2-15b', 15, 15, 'dense', V2],
  ['codellama/CodeLlama-7b-hf', 7, 7, 'dense', V2],
  ['codellama/CodeLlama-13b-hf', 13, 13, 'dense', V2],
  ['codellama/CodeLlama-34b-hf', 34, 34, 'dense', V2],
  ['codellama/CodeLlama-70b-hf', 70, 70, 'dense', V2],
  ['google/codegemma-1.1-2b', 2, 2, 'dense', V2],
  ['google/codegemma-7b', 7, 7, 'dense', V2],
  // Common models without ML.ENERGY measurements (estimated parametrically)
  [
    'meta-llama/Llama-3.2-1B-Instruct',
    1.24,
    1.24,
    'dense',
    'Hugging Face model card (2024)',
    { aliases: ['llama-3.2-1b'] },
  ],
  [
    'meta-llama/Llama-3.2-3B-Instruct',
    3.21,
    3.21,
    'dense',
    'Hugging Face model card (2024)',
    { aliases: ['llama-3.2-3b'] },
  ],
  [
    'Qwen/Qwen3-4B-Instruct-2507',
    4,
    4,
    'dense',
    'Hugging Face model card (2025): 4.0B parameters',
    { aliases: ['qwen3-4b'] },
  ],
  [
    'Qwen/Qwen2.5-7B-Instruct',
    7.61,
    7.61,
    'dense',
    'Hugging Face model card (2024)',
    { aliases: ['qwen2.5-7b'] },
  ],
  [
    'Qwen/Qwen2.5-72B-Instruct',
    72.7,
    72.7,
    'dense',
    'Hugging Face model card (2024)',
    { aliases: ['qwen2.5-72b'] },
  ],
  [
    'microsoft/phi-4',
    14.7,
    14.7,
    'dense',
    'Hugging Face model card (2024)',
    { aliases: ['phi-4'] },
  ],
  [
    'mistralai/Mistral-Small-24B-Instruct-2501',
    24,
    24,
    'dense',
    'Hugging Face model card (2025)',
    { aliases: ['mistral-small'] },
  ],
]

/** Every catalogued model. */
export const MODELS: readonly ModelSpec[] = Object.freeze(
  ROWS.map(([id, total, active, architecture, source, extra]) =>
    Object.freeze({
      id,
      aliases: Object.freeze([shortName(id), ...(extra?.aliases ?? [])]),
      totalParamsB: total,
      activeParamsB: active,
      architecture,
      defaultPrecision: extra?.precision ?? 'bf16',
      ...(extra?.base === undefined ? {} : { baseModel: extra.base }),
      source,
    }),
  ),
)

const BY_NAME: ReadonlyMap<string, ModelSpec> = new Map(
  MODELS.flatMap((m) => [m.id, ...m.aliases].map((n) => [normaliseId(n), m] as const)),
)

/** The model named `id` (HF id or alias, case- and punctuation-insensitive), if known. */
export function findModel(id: string): ModelSpec | undefined {
  return BY_NAME.get(normaliseId(id))
}

/** Like {@link findModel} but throws `WL_UNKNOWN_MODEL` with `details.matches` when unknown. */
export function getModel(id: string): ModelSpec {
  const found = findModel(id)
  if (found !== undefined) return found
  throw unknownModel(id)
}

/** The `WL_UNKNOWN_MODEL` error for `id`, with close matches among ids and aliases. */
export function unknownModel(id: string): WattlineError {
  const names = MODELS.flatMap((m) => [m.id, ...m.aliases])
  const matches = [...new Set(closeMatches(id, names, 8).map((n) => findModel(n)?.id ?? n))].slice(
    0,
    5,
  )
  return new WattlineError(
    'WL_UNKNOWN_MODEL',
    `unknown model "${id}"${matches.length > 0 ? `; did you mean ${matches.join(', ')}?` : ''} (pass --active-params-b to estimate an uncatalogued model from its size)`,
    { details: { model: id, matches } },
  )
}

function shortName(id: string): string {
  return (id.split('/').pop() ?? id).toLowerCase()
}

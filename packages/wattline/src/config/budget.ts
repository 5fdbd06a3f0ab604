/**
 * @module config/budget
 * The config sections owned by the governance pillar: a service's `budget:` (energy/carbon ceilings,
 * stages, variance, regression limit, production watch) and the top-level `ledger:` section.
 * The main schema (`config/schema.ts`) embeds these; field names are snake_case with unit suffixes.
 *
 * Impossible numbers (negative baseline, variance above 100 %, a stage reduction of 100 % or more)
 * are rejected here so that `wattline gate` can exit 2 naming the field.
 */
import type { BudgetSpec } from '@wattline/core'
import * as z from 'zod'

/** The metrics a budget may cap. The suffix is the unit of `baseline`/`target`. */
export const BUDGET_METRICS = [
  'energy_per_1k_requests_wh',
  'energy_per_output_token_j',
  'carbon_per_1k_requests_g',
] as const
export type BudgetMetric = (typeof BUDGET_METRICS)[number]

/** Rollout stages; each stage's target is `baseline × (1 − reduction)`. */
export const BUDGET_STAGES = ['pilot', 'production'] as const
export type BudgetStage = (typeof BUDGET_STAGES)[number]

/** Default reductions below baseline, percent: pilot 20 %, production 40 %. */
export const DEFAULT_STAGE_REDUCTIONS_PCT = Object.freeze({ pilot: 20, production: 40 })
/** Default tolerance on the target for measurement noise, percent. */
export const DEFAULT_VARIANCE_PCT = 5
/** Default largest accepted increase against the last accepted release, percent. */
export const DEFAULT_MAX_REGRESSION_PCT = 10
/** Default rolling window of the production watch, seconds. */
export const DEFAULT_WATCH_WINDOW_S = 300
/** Default minimum requests in the window before the watch judges a ratio. */
export const DEFAULT_WATCH_MIN_REQUESTS = 50
/** Default webhook timeout, milliseconds. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000

const percent = (field: string, max: number): z.ZodNumber =>
  z
    .number({ error: `${field} must be a number (percent)` })
    .min(0, { error: `${field} must be ≥ 0 (percent)` })
    .max(max, { error: `${field} must be ≤ ${max} (percent)` })

const positive = (field: string): z.ZodNumber =>
  z
    .number({ error: `${field} must be a finite number` })
    .positive({ error: `${field} must be > 0` })

/** Stage reductions below baseline, percent (each in [0, 100)). */
export const stageReductionsSchema = z
  .strictObject({
    pilot: percent('stage_reductions_pct.pilot', 99.999).default(
      DEFAULT_STAGE_REDUCTIONS_PCT.pilot,
    ),
    production: percent('stage_reductions_pct.production', 99.999).default(
      DEFAULT_STAGE_REDUCTIONS_PCT.production,
    ),
  })
  .prefault({})

/** A webhook the production watch calls (POST JSON) on breach and on recovery. */
export const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'webhooks[].url must be an http(s) URL' }),
  /** Per-call timeout, milliseconds. */
  timeout_ms: z.int().min(1).max(60_000).default(DEFAULT_WEBHOOK_TIMEOUT_MS),
  /** Name of an environment variable holding a bearer token sent as `authorization`. */
  bearer_token_env: z.string().min(1).optional(),
})
export type WebhookConfig = z.infer<typeof webhookSchema>

/** Production watch: the gateway evaluates the budget over a rolling window. */
export const watchSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Rolling window length, seconds. */
    window_s: z.int().min(10).max(86_400).default(DEFAULT_WATCH_WINDOW_S),
    /** Requests needed in the window before a ratio is judged (fewer: ratio reported, no breach). */
    min_requests: z.int().min(1).default(DEFAULT_WATCH_MIN_REQUESTS),
    webhooks: z.array(webhookSchema).default([]),
  })
  .prefault({})
export type WatchConfig = z.infer<typeof watchSchema>

/** The fields a per-model-family budget may override. */
const budgetFields = {
  metric: z.enum(BUDGET_METRICS, {
    error: `metric must be one of ${BUDGET_METRICS.join(', ')}`,
  }),
  /** The reference value, in the metric's unit (Wh, J or g). Must be > 0. */
  baseline: positive('baseline'),
  stage: z.enum(BUDGET_STAGES, { error: 'stage must be pilot or production' }).default('pilot'),
  stage_reductions_pct: stageReductionsSchema,
  /** An explicit target in the metric's unit; when set it replaces baseline × (1 − reduction). */
  target: positive('target').optional(),
  /** Tolerance on the target, percent of the target (0–100). */
  variance_pct: percent('variance_pct', 100).default(DEFAULT_VARIANCE_PCT),
  /** Largest accepted increase against the last accepted release, percent (0–1000). */
  max_regression_pct: percent('max_regression_pct', 1000).default(DEFAULT_MAX_REGRESSION_PCT),
}

/** A budget for the models of one family within a service (matched by model-id prefix). */
export const familyBudgetSchema = z.strictObject({
  /** Case-insensitive model-id prefix, e.g. `llama-3.1` or `meta-llama/Llama-3.1`. */
  family: z.string().min(1),
  ...budgetFields,
})
export type FamilyBudgetConfig = z.infer<typeof familyBudgetSchema>

/** A service's `budget:` section. */
export const budgetConfigSchema = z.strictObject({
  ...budgetFields,
  /** Optional per-model-family budgets; the first family whose prefix matches wins. */
  families: z.array(familyBudgetSchema).default([]),
  watch: watchSchema,
})
export type BudgetConfig = z.infer<typeof budgetConfigSchema>
export type BudgetConfigInput = z.input<typeof budgetConfigSchema>

/** A budget section (service-wide or one family's) as core's `BudgetSpec`. */
export function coreBudgetSpec(b: BudgetConfig | FamilyBudgetConfig): BudgetSpec {
  return {
    metric: b.metric,
    baseline: b.baseline,
    stage: b.stage,
    stage_reductions_pct: b.stage_reductions_pct,
    target: b.target,
    variance_pct: b.variance_pct,
    max_regression_pct: b.max_regression_pct,
  }
}

/** Default ledger location. */
export const DEFAULT_LEDGER_URL = 'sqlite:./wattline.db'
/** Default and largest flush interval of the batch writer, milliseconds. */
export const DEFAULT_FLUSH_INTERVAL_MS = 100
export const MAX_FLUSH_INTERVAL_MS = 250

/** The top-level `ledger:` section. */
export const ledgerConfigSchema = z
  .strictObject({
    /** `sqlite:PATH` (relative to the config file's folder), `sqlite::memory:`, or `postgres://…`. */
    url: z
      .string()
      .regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, {
        error: 'ledger.url must start with sqlite:, postgres:// or postgresql://',
      })
      .default(DEFAULT_LEDGER_URL),
    /** Longest time a row waits in the writer's buffer, milliseconds (≤ 250). */
    flush_interval_ms: z
      .int()
      .min(1)
      .max(MAX_FLUSH_INTERVAL_MS, { error: 'ledger.flush_interval_ms must be ≤ 250' })
      .default(DEFAULT_FLUSH_INTERVAL_MS),
    /** A flush starts early once this many rows are buffered. */
    batch_rows: z.int().min(1).max(100_000).default(2000),
    /** Buffer bound; rows beyond it are dropped and counted (metric and ledger). */
    buffer_rows: z.int().min(1).max(10_000_000).default(200_000),
    /** Rows per hash-chain block; a block also closes at every flush's end if older than 1 s. */
    block_rows: z.int().min(1).max(100_000).default(1000),
    /** Per-request rows older than this many days are pruned (rollups stay); null keeps them. */
    retention_days: z.number().positive().nullable().default(null),
    /**
     * Ed25519 private key (PEM); created on first start when absent (mode 0600). Unset: beside a
     * SQLite ledger file (`wattline-ledger.key` in its folder), else
     * `./wattline-data/wattline-ledger.key`; never the config's own folder by default.
     */
    signing_key_path: z.string().min(1).optional(),
  })
  .prefault({})
export type LedgerConfig = z.infer<typeof ledgerConfigSchema>

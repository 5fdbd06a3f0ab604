/**
 * @module config/levers
 * A service's `levers:` section: the in-region routing levers of the gateway (docs/gateway.md
 * "Prefix affinity and occupancy shaping"), the same core lever code `wattline replay --levers
 * prefix,occupancy` runs. Both are off by default.
 */
import * as z from 'zod'

/**
 * Characters per prefix block: 2048 ≈ 512 tokens at the gateway's ≈ 4 characters per token, the
 * granularity of Mooncake's `hash_ids` that `replay` uses (core's `PREFIX_BLOCK_TOKENS`).
 */
export const DEFAULT_PREFIX_BLOCK_CHARS = 2048

/**
 * Prefix blocks the gateway remembers per backend: 781 × 512 tokens ≈ 400,000 tokens, replay's
 * default prefix-cache size of one replica (`DEFAULT_LEVER_SETTINGS.prefixCacheTokens`: the KV
 * cache an 80 GB GPU holds for an 8B model beside its weights).
 */
export const DEFAULT_PREFIX_MAX_BLOCKS = 781

/** Prefix affinity may choose a zone this much dirtier than the policy's choice (replay's default), %. */
export const DEFAULT_PREFIX_MAX_CARBON_PENALTY_PCT = 20

export const serviceLeversSchema = z.strictObject({
  /**
   * Prefix-affinity routing: a request whose leading prompt blocks a backend served recently goes
   * there (its model server's prefix cache skips that prefill) while it has a free slot.
   */
  prefix_affinity: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Characters per hashed prompt block (≈ 4 characters per token). */
      block_chars: z.int().min(64).max(1_048_576).default(DEFAULT_PREFIX_BLOCK_CHARS),
      /** Blocks remembered per backend, least recently used out first (the server's cache size). */
      max_blocks_per_backend: z.int().positive().default(DEFAULT_PREFIX_MAX_BLOCKS),
      /**
       * The weight against carbon-aware routing: affinity may pick a backend whose zone (× PUE) is
       * this much dirtier than the policy's choice, %; 0 = never dirtier.
       */
      max_carbon_penalty_pct: z
        .number()
        .min(0)
        .max(1000)
        .default(DEFAULT_PREFIX_MAX_CARBON_PENALTY_PCT),
    })
    .prefault({}),
  /**
   * Occupancy shaping: fill backends toward their energy-optimal running batch before spreading to
   * the next one of the same zone.
   */
  occupancy: z
    .strictObject({
      enabled: z.boolean().default(false),
      /**
       * Running requests per backend to fill to: `auto` = the largest batch at which the service's
       * typical request still meets its p95 objective on the backend's profile (max_concurrency
       * without an objective), or a fixed count (capped at max_concurrency).
       */
      target: z.union([z.literal('auto'), z.int().positive()]).default('auto'),
    })
    .prefault({}),
})
export type ServiceLeversConfig = z.infer<typeof serviceLeversSchema>

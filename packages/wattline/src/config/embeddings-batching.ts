/**
 * @module config/embeddings-batching
 * A service's `embeddings_batching:` section (docs/gateway.md "Embeddings micro-batching"):
 * concurrent `/v1/embeddings` requests of the service that ask for the same output (model, encoding,
 * dimensions, user) are merged into one upstream call. Off by default.
 */
import * as z from 'zod'

/** How long the first request of a batch waits for others, ms. */
export const DEFAULT_EMBEDDINGS_WINDOW_MS = 5

/** Most inputs (strings or token arrays) in one merged upstream call. */
export const DEFAULT_EMBEDDINGS_MAX_BATCH = 64

export const embeddingsBatchingSchema = z.strictObject({
  /** True to merge concurrent embeddings requests of the service. */
  enabled: z.boolean().default(false),
  /**
   * Milliseconds the first request of a batch waits for more before the merged call goes out (a
   * full batch goes at once). Every request of a batch waits at most this long.
   */
  window_ms: z
    .int()
    .min(0, { error: 'window_ms must be 0 or more milliseconds' })
    .max(1000, { error: 'window_ms must be at most 1000 (a batch window is a few milliseconds)' })
    .default(DEFAULT_EMBEDDINGS_WINDOW_MS),
  /**
   * Most inputs in one merged call (the backend's own batch limit, e.g. TEI's
   * `--max-client-batch-size`, 32 by default there). A request with more inputs goes alone.
   */
  max_batch: z
    .int()
    .min(1, { error: 'max_batch must be at least 1 input' })
    .max(8192, { error: 'max_batch must be at most 8192 inputs' })
    .default(DEFAULT_EMBEDDINGS_MAX_BATCH),
})
export type EmbeddingsBatchingConfig = z.infer<typeof embeddingsBatchingSchema>

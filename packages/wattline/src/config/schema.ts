/**
 * @module config/schema
 * The one zod schema of `wattline.yaml` (published as `config.schema.json`). Field names are
 * snake_case with unit suffixes; every omitted field gets the default from `defaults.ts`.
 * Cross-field rules (unique ids, one default service, known hardware and zones, served models) live
 * in `parse-config.ts`, which has the catalogues at hand.
 */
import * as z from 'zod'
import { ROUTING_POLICIES, PRECISIONS, SCALING_POLICIES } from '@wattline/core'
import { budgetConfigSchema, ledgerConfigSchema } from './budget.ts'
import { carbonConfigSchema } from './carbon.ts'
import * as D from './defaults.ts'
import { PLACEMENTS } from './placement.ts'
import { serviceLeversSchema } from './levers.ts'
import { embeddingsBatchingSchema } from './embeddings-batching.ts'
import { tenantKeySchema, tenantSchema } from './tenants.ts'

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })

const posInt = z.int().positive()
const nonNegInt = z.int().min(0)

/** A tenant's bearer API key: `key_env` or `key_sha256` (config/tenants.ts). */
export { tenantKeySchema }

/** One quality tier of a service: a model as clients name it, and when it may serve (below the first). */
export const tierSchema = z.strictObject({
  model: z.string().min(1),
  /** Any condition that holds lets a request for a heavier tier be served by this one. */
  when: z
    .strictObject({
      /** Grid intensity of the cleanest backend serving the requested model above this, gCO2e/kWh. */
      intensity_above_g_per_kwh: z.number().min(0).optional(),
      /** The service's budget watch projects its budget to be exceeded (needs `budget.watch`). */
      budget_pressure: z.boolean().optional(),
      /** The client sent `x-wattline-tier: eco`. */
      opt_in: z.boolean().optional(),
    })
    .optional(),
})
export type TierConfig = z.infer<typeof tierSchema>

export const serviceSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, {
    error: 'service names use letters, digits, ".", "_" and "-"',
  }),
  /** Requests without `x-wattline-service` or a tenant key go to the default service. */
  default: z.boolean().default(false),
  routing: z.enum(ROUTING_POLICIES).default(D.DEFAULT_ROUTING),
  slo: z
    .strictObject({
      /** Latency objective for a whole request, milliseconds (95th percentile). */
      p95_latency_ms: z.number().positive().optional(),
      /**
       * Right-sizing deferral budget: extra p95 latency, % of `p95_latency_ms`, the energy-optimal
       * scaler may plan for (fewer replicas, more queueing) while the grid is above its daily median.
       */
      deferral_pct: z.number().min(0).max(1000).optional(),
    })
    .prefault({}),
  /** Models this service may call; omitted = every model a backend serves. */
  models: z.array(z.string().min(1)).optional(),
  /** Backend ids this service may use; omitted = all. */
  backends: z.array(z.string().min(1)).optional(),
  /** Bearer keys of this service's tenants; a request with such a key goes to this service. */
  api_keys: z.array(tenantKeySchema).default([]),
  /**
   * The service's tenants (named as in `api_keys[].tenant`) and their budgets per calendar period
   * (docs/budgets.md "Tenant budgets"). Omitted = no tenant budget.
   */
  tenants: z.array(tenantSchema).optional(),
  /** Output tokens assumed for routing when a request sets no `max_tokens` (tokens). */
  typical_output_tokens: posInt.default(D.DEFAULT_TYPICAL_OUTPUT_TOKENS),
  /** Carbon-aware hysteresis band (percent). */
  carbon_tolerance_pct: z.number().min(0).max(100).default(D.DEFAULT_CARBON_TOLERANCE_PCT),
  queue: z
    .strictObject({
      /** Requests that may wait for a free backend slot. 0 = answer 429 at once when all are full. */
      max_size: nonNegInt.default(D.DEFAULT_QUEUE_MAX),
      /** Longest wait in the queue before a 429 (ms). */
      timeout_ms: posInt.default(D.DEFAULT_QUEUE_TIMEOUT_MS),
    })
    .prefault({}),
  budget: budgetConfigSchema.optional(),
  /**
   * Quality tiers (docs/gateway.md "Quality tiers"): model variants heaviest first; a request for
   * one may be served by a lighter one below it when that tier's `when` holds. Omitted = never.
   */
  tiers: z.array(tierSchema).optional(),
  /**
   * Prefix-affinity routing and occupancy shaping (docs/gateway.md "Prefix affinity and occupancy
   * shaping"); both off by default.
   */
  levers: serviceLeversSchema.prefault({}),
  /**
   * Embeddings micro-batching (docs/gateway.md "Embeddings micro-batching"): concurrent
   * `/v1/embeddings` requests merged into one upstream call; off by default.
   */
  embeddings_batching: embeddingsBatchingSchema.prefault({}),
  /** Exact-match response cache of this service (docs/gateway.md "Response cache"); off by default. */
  cache: z
    .strictObject({
      /** True to serve repeated identical requests from the cache. */
      enabled: z.boolean().default(false),
      /** Lifetime of a stored answer, seconds. */
      ttl_s: posInt.default(300),
      /**
       * `deterministic`: only requests with `temperature: 0` or a `seed` (and embeddings) are
       * cached; `always`: every request of the service.
       */
      mode: z.enum(['deterministic', 'always']).default('deterministic'),
      /**
       * What identifies a request's body: `normalised` (its canonical JSON: the same request spelt
       * with other key order, whitespace or escapes is the same entry) or `exact` (its bytes as
       * sent: cheaper, and the same request spelt differently is another entry).
       */
      key: z.enum(['normalised', 'exact']).default('normalised'),
      /** Bytes the in-memory store may hold for this service (oldest out first). */
      max_bytes: posInt.default(64 * 1024 * 1024),
      /**
       * Times a request must have been asked (this one included) before its answer is stored, as
       * nginx's `proxy_cache_min_uses`: 1 stores every answer (default); 2 skips answers asked
       * once, at the price of one lost hit per repeated request (docs/gateway.md "Response cache").
       */
      min_uses: z.int().min(1).max(255).default(1),
    })
    .prefault({}),
})

export const meterSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('modelled') }),
  z.strictObject({
    type: z.literal('nvidia-smi'),
    /** Command to run (argv[0]); `nvidia-smi` from PATH by default. */
    command: z.string().min(1).default('nvidia-smi'),
    /** Extra arguments placed before the query, e.g. `["-i", "0,1"]`. */
    args: z.array(z.string()).default([]),
    /** GPU indices that belong to this backend; omitted = all reported GPUs. */
    gpu_indices: z.array(nonNegInt).optional(),
    /** Poll period (ms). */
    interval_ms: posInt.default(D.DEFAULT_METER_INTERVAL_MS),
    /** Age of the last reading after which power falls back to modelled (ms); default 3 × interval_ms. */
    stale_after_ms: posInt.optional(),
  }),
  z.strictObject({
    type: z.literal('prometheus'),
    /** Exposition endpoint, e.g. the DCGM exporter's `http://host:9400/metrics`. */
    url: z.url({ protocol: /^https?$/ }),
    /** Metric to sum: DCGM exporter or Kepler (both in W). */
    metric: z
      .enum(['DCGM_FI_DEV_POWER_USAGE', 'kepler_node_gpu_watts'])
      .default('DCGM_FI_DEV_POWER_USAGE'),
    /** Exact label matches selecting this backend's series, e.g. `{Hostname: gpu-node-3}`. */
    labels: z.record(z.string(), z.string()).default({}),
    /** Poll period (ms). */
    interval_ms: posInt.default(D.DEFAULT_METER_INTERVAL_MS),
    /** Per-scrape timeout (ms). */
    timeout_ms: posInt.default(D.DEFAULT_HEALTH_TIMEOUT_MS),
    /** Age of the last reading after which power falls back to modelled (ms); default 3 × interval_ms. */
    stale_after_ms: posInt.optional(),
  }),
])

/**
 * How old a measured meter's last reading may get before its backend falls back to modelled
 * power (ms): `stale_after_ms`, else {@link D.DEFAULT_METER_STALE_POLLS} × `interval_ms`.
 * Undefined for the modelled meter.
 */
export function meterStaleAfterMs(meter: MeterConfig): number | undefined {
  if (meter.type === 'modelled') return undefined
  return meter.stale_after_ms ?? D.DEFAULT_METER_STALE_POLLS * meter.interval_ms
}

/** A backend as a pool of identical replicas the gateway recommends a size for (docs/scaling.md). */
export const scalingConfigSchema = z
  .strictObject({
    policy: z.enum(SCALING_POLICIES).default('energy-optimal'),
    /** Fewest replicas recommended; 0 allows scale-to-zero (KEDA activation starts the first). */
    min_replicas: nonNegInt.default(1),
    max_replicas: posInt,
    /** Requests one replica runs at once (vLLM's max_num_seqs); default: the backend's max_concurrency. */
    slots_per_replica: posInt.optional(),
    /** Seconds from starting a replica to serving (model load); drawn at idle power. */
    cold_start_s: z.number().min(0).default(60),
    /** Decision window, seconds: one recommendation per window from the load observed in it. */
    window_s: z.number().min(1).max(3600).default(60),
    /** Replicas `static-peak` recommends (default: max_replicas). */
    static_replicas: posInt.optional(),
    /**
     * Where the pool's actual replica count is read (shown beside the recommendation, and used as
     * the replicas serving when planning): a Prometheus exposition endpoint such as kube-state-metrics.
     */
    actual_replicas: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of a /metrics page' }),
        metric: z
          .string()
          .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/)
          .default('kube_deployment_status_replicas_available'),
        /** Series whose labels include all of these are summed, e.g. `{deployment: vllm-paris}`. */
        labels: z.record(z.string(), z.string()).default({}),
        timeout_ms: posInt.default(2000),
      })
      .optional(),
  })
  .refine((s) => s.min_replicas <= s.max_replicas, {
    error: 'min_replicas must not exceed max_replicas',
    path: ['min_replicas'],
  })

export const backendSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, {
      error: 'backend ids use letters, digits, ".", "_" and "-"',
    }),
    /** OpenAI-compatible base URL including `/v1`. */
    url: z.url({
      protocol: /^https?$/,
      error: 'must be an http(s) URL such as http://host:8000/v1',
    }),
    /** Grid zone (Electricity Maps id); or give `region`. */
    zone: z.string().min(1).optional(),
    /** Cloud region, e.g. `aws:eu-central-1`, mapped to a zone. */
    region: z.string().min(1).optional(),
    hardware: z.string().min(1),
    /**
     * `cloud` (a data centre) or `edge` (a Jetson-class module: one request at a time, no PUE;
     * max_concurrency and pue must then be 1 or left out). docs/configuration.md "placement".
     */
    placement: z.enum(PLACEMENTS).default('cloud'),
    precision: z.enum(PRECISIONS).default(D.DEFAULT_PRECISION),
    /** Active parameters (billions), for a model the catalogue does not know. */
    active_params_b: z.number().positive().optional(),
    models: z.array(z.string().min(1)).min(1, { error: 'a backend serves at least one model' }),
    /** Client model name → the name this upstream expects. */
    model_names: z.record(z.string(), z.string().min(1)).default({}),
    max_concurrency: posInt.default(D.DEFAULT_MAX_CONCURRENCY),
    /** Power usage effectiveness of the site (≥ 1). */
    pue: z
      .number()
      .min(1, { error: 'pue is ≥ 1 (facility energy / IT energy)' })
      .max(3)
      .default(D.DEFAULT_PUE),
    /** Share for the `weighted` policy (relative). */
    weight: z.number().min(0).default(1),
    /** Known network round trip to this backend (ms), added to latency predictions. */
    rtt_ms: z.number().min(0).default(0),
    /** Environment variable with the upstream's bearer key. */
    api_key_env: envName.optional(),
    /** Extra headers sent upstream. */
    headers: z.record(z.string(), z.string()).default({}),
    connections: posInt.default(D.DEFAULT_CONNECTIONS),
    timeouts: z
      .strictObject({
        connect_ms: posInt.default(D.DEFAULT_CONNECT_TIMEOUT_MS),
        headers_ms: nonNegInt.default(D.DEFAULT_HEADERS_TIMEOUT_MS),
        body_ms: nonNegInt.default(D.DEFAULT_BODY_TIMEOUT_MS),
      })
      .prefault({}),
    meter: meterSchema.default({ type: 'modelled' }),
    /** Right-sizing: the gateway recommends this pool's replica count (GET /scaling/{id}, KEDA). */
    scaling: scalingConfigSchema.optional(),
  })
  .refine((b) => (b.zone === undefined) !== (b.region === undefined), {
    error: 'give exactly one of zone or region',
    path: ['zone'],
  })

export const gatewaySchema = z
  .strictObject({
    host: z.string().min(1).default(D.DEFAULT_HOST),
    port: z.int().min(0).max(65_535).default(D.DEFAULT_PORT),
    body_limit_bytes: posInt.default(D.DEFAULT_BODY_LIMIT_BYTES),
    /** Time a client has to send a request's head, ms (slowloris guard); ≤ request_timeout_ms. */
    headers_timeout_ms: posInt.default(D.DEFAULT_CLIENT_HEADERS_TIMEOUT_MS),
    /** Time a client has to send a whole request (head and body), ms; not the answer's time. */
    request_timeout_ms: posInt.default(D.DEFAULT_CLIENT_REQUEST_TIMEOUT_MS),
    /** Idle keep-alive connections close after this, ms. */
    keep_alive_timeout_ms: posInt.default(D.DEFAULT_CLIENT_KEEP_ALIVE_TIMEOUT_MS),
    /** Client connections open at once; more are closed on arrival. Keep below `ulimit -n`. */
    max_connections: posInt.default(D.DEFAULT_CLIENT_MAX_CONNECTIONS),
    max_attempts: z.int().min(1).max(10).default(D.DEFAULT_MAX_ATTEMPTS),
    drain_timeout_ms: posInt.default(D.DEFAULT_DRAIN_TIMEOUT_MS),
    /**
     * At start, until every backend has answered (or failed) its first health probe, `/readyz` says
     * not ready and requests wait up to this long (ms) instead of going to unprobed backends.
     */
    warmup_wait_ms: posInt.default(D.DEFAULT_WARMUP_WAIT_MS),
    intensity_refresh_ms: posInt.default(D.DEFAULT_INTENSITY_REFRESH_MS),
    accounting_interval_ms: posInt.default(D.DEFAULT_ACCOUNTING_INTERVAL_MS),
    health: z
      .strictObject({
        interval_ms: posInt.default(D.DEFAULT_HEALTH_INTERVAL_MS),
        timeout_ms: posInt.default(D.DEFAULT_HEALTH_TIMEOUT_MS),
        /** Probed path under each backend's URL. */
        path: z.string().startsWith('/').default('/models'),
      })
      .prefault({}),
    breaker: z
      .strictObject({
        failure_threshold: posInt.default(D.DEFAULT_BREAKER_FAILURES),
        cooldown_ms: posInt.default(D.DEFAULT_BREAKER_COOLDOWN_MS),
        max_cooldown_ms: posInt.default(D.DEFAULT_BREAKER_MAX_COOLDOWN_MS),
      })
      .prefault({}),
    /** Bearer token (from this env var) required on /metrics; omitted = open. */
    metrics_token_env: envName.optional(),
    /** Bearer token (from this env var) required on the /api/ data routes (the dashboard page itself is static and open). */
    admin_token_env: envName.optional(),
    log_level: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
  })
  .refine((g) => g.headers_timeout_ms <= g.request_timeout_ms, {
    error: 'headers_timeout_ms must not exceed request_timeout_ms',
    path: ['headers_timeout_ms'],
  })
  .prefault({})

/**
 * Scale-out: replicas share each backend's in-flight count through Redis, so `max_concurrency`
 * holds for the fleet. Omitted = each replica counts alone (one replica).
 */
export const clusterSchema = z
  .strictObject({
    /** Environment variable holding the Redis URL (`redis://[user:password@]host:port[/db]`). */
    redis_url_env: envName,
    /** Prefix of the Redis keys (`<prefix>:load:<backend>`); replicas of one fleet share it. */
    key_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/, { error: 'use letters, digits, ".", ":", "_" and "-"' })
      .default(D.DEFAULT_CLUSTER_KEY_PREFIX),
    /** Lifetime of a slot without renewal (ms): a crashed replica's slots free after this. */
    lease_ms: posInt.default(D.DEFAULT_CLUSTER_LEASE_MS),
    /** Lease renewal period (ms); at most half of `lease_ms`. */
    heartbeat_ms: posInt.default(D.DEFAULT_CLUSTER_HEARTBEAT_MS),
    /** Period of the full re-read of every backend's global in-flight count (ms). */
    sync_interval_ms: posInt.default(D.DEFAULT_CLUSTER_SYNC_INTERVAL_MS),
    /** Longest a Redis command may take before Redis counts as down (ms). */
    command_timeout_ms: posInt.default(D.DEFAULT_CLUSTER_COMMAND_TIMEOUT_MS),
  })
  .refine((c) => c.heartbeat_ms * 2 <= c.lease_ms, {
    error: 'heartbeat_ms must be at most half of lease_ms, or live slots could expire',
    path: ['heartbeat_ms'],
  })

/**
 * OpenTelemetry traces of requests (gen_ai semantic conventions + Wattline's accounting), exported
 * over OTLP/HTTP. Omitted = no tracing.
 */
export const telemetrySchema = z.strictObject({
  otlp: z.strictObject({
    /** OTLP/HTTP traces endpoint, e.g. `http://otel-collector:4318/v1/traces`. */
    endpoint: z.url({ protocol: /^https?$/ }),
    /** Environment variable holding extra collector headers, `key=value,key2=value2` (e.g. an API key). */
    headers_env: envName.optional(),
  }),
  /** `service.name` of the exported resource. */
  service_name: z.string().min(1).default('wattline-gateway'),
  /** Fraction of requests traced (0–1). */
  sample_ratio: z.number().min(0).max(1).default(1),
})

/**
 * The Batch API (`/v1/files`, `/v1/batches`; docs/batch.md): limits on uploads, the scheduler's
 * planning slot and lease, and the throttle that keeps interactive traffic within its SLO.
 */
export const batchSchema = z
  .strictObject({
    /** Largest accepted upload (bytes); larger is refused with 413 `WL_REQUEST_TOO_LARGE`. */
    max_file_bytes: posInt.default(100 * 1024 * 1024),
    /** Most lines one batch input file may hold. */
    max_lines: posInt.default(50_000),
    /** Longest `completion_window` accepted, hours (OpenAI accepts `24h`). */
    max_completion_window_h: posInt.default(168),
    /** Most batch lines in flight at once across the gateway. */
    max_concurrent_lines: posInt.default(4),
    /** Share of the allowed backends' `max_concurrency` batch lines may take (0–1). */
    max_capacity_share: z.number().min(0).max(1).default(0.5),
    /** Duration of one line before any has been measured (ms); later the measured mean is used. */
    estimated_line_ms: posInt.default(2_000),
    /** Planning slot (ms): the grid data's resolution, one hour. */
    slot_ms: posInt.default(3_600_000),
    /** Slots kept free before the deadline as a margin for slower-than-estimated work. */
    margin_slots: nonNegInt.default(1),
    /** Days of history averaged by the seasonal forecast when the carbon source has none. */
    forecast_history_days: posInt.default(7),
    /** Scheduler tick (ms, real time): how often it re-plans and starts lines. */
    tick_ms: posInt.default(1_000),
    /** Lifetime of the scheduler lease row without renewal (ms): one gateway schedules at a time. */
    lease_ms: posInt.default(15_000),
    /**
     * Speed of the scheduler's clock (1 = real time). Above 1 for tests and demos only: scheduler
     * time = `clock_anchor_ms` + (real time − `clock_anchor_ms`) × speed, the same after a restart.
     */
    clock_speed: z.number().positive().default(1),
    /** Anchor of a sped-up scheduler clock (epoch ms). */
    clock_anchor_ms: nonNegInt.default(0),
  })
  .prefault({})

export const configSchema = z.strictObject({
  /** JSON Schema reference, ignored. */
  $schema: z.string().optional(),
  gateway: gatewaySchema,
  carbon: carbonConfigSchema,
  ledger: ledgerConfigSchema,
  services: z.array(serviceSchema).min(1, { error: 'define at least one service' }),
  backends: z.array(backendSchema).min(1, { error: 'define at least one backend' }),
  cluster: clusterSchema.optional(),
  telemetry: telemetrySchema.optional(),
  batch: batchSchema,
  /**
   * Energy of the bytes crossing the service boundary (docs/methodology.md "Network energy"):
   * modelled per request, kept apart from compute energy.
   */
  network: z
    .strictObject({
      /** False to leave network energy out of the ledger. */
      enabled: z.boolean().default(true),
      /** Electricity intensity of transmission, kWh per GB; omitted = the Aslan et al. 2018 trend for the request's year. */
      kwh_per_gb: z.number().positive().max(10).optional(),
      /** Where `kwh_per_gb` comes from (required with it: every number states its source). */
      source: z.string().min(1).optional(),
    })
    .refine((n) => n.kwh_per_gb === undefined || n.source !== undefined, {
      error: 'network.kwh_per_gb needs network.source (where the coefficient comes from)',
      path: ['source'],
    })
    .prefault({}),
  /** Where the response cache keeps answers (the per-service `cache:` policies decide what). */
  cache: z
    .strictObject({
      /** `memory`: one store per service in each gateway process; `redis`: shared by every replica. */
      store: z.enum(['memory', 'redis']).default('memory'),
      /** Environment variable holding the Redis URL; omitted = `cluster.redis_url_env`. */
      redis_url_env: envName.optional(),
      /** Prefix of the Redis keys (`<prefix>:cache:<sha256>`). */
      key_prefix: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]+$/, { error: 'use letters, digits, ".", ":", "_" and "-"' })
        .default(D.DEFAULT_CLUSTER_KEY_PREFIX),
      /** Longest a Redis cache command may take before the cache is bypassed (ms). */
      command_timeout_ms: posInt.default(250),
    })
    .prefault({}),
})

export type WattlineConfigInput = z.input<typeof configSchema>
export type RawWattlineConfig = z.infer<typeof configSchema>
export type ServiceConfig = z.infer<typeof serviceSchema>
export type RawBackendConfig = z.infer<typeof backendSchema>
export type MeterConfig = z.infer<typeof meterSchema>
export type GatewayConfig = z.infer<typeof gatewaySchema>
export type ClusterConfig = z.infer<typeof clusterSchema>
export type TelemetryConfig = z.infer<typeof telemetrySchema>
export type BatchConfig = z.infer<typeof batchSchema>
export type CacheStoreConfig = RawWattlineConfig['cache']
export type NetworkConfig = RawWattlineConfig['network']
export type ServiceCacheConfig = ServiceConfig['cache']

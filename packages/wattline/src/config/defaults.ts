/**
 * @module config/defaults
 * Every default the config schema fills in, in one place with its unit and reason, so that
 * docs/configuration.md and the schema cannot disagree about them.
 */

/** Listening address of `wattline serve` (loopback: exposing the gateway is a deliberate choice). */
export const DEFAULT_HOST = '127.0.0.1'
/** Listening port of `wattline serve`. */
export const DEFAULT_PORT = 8080

/** Routing policy of a service that names none. */
export const DEFAULT_ROUTING = 'carbon-aware'
/**
 * Output tokens assumed for routing predictions when a request sets no `max_tokens` (tokens).
 * Token counts in the ledger always come from the upstream's `usage`.
 */
export const DEFAULT_TYPICAL_OUTPUT_TOKENS = 256
/** Carbon-aware hysteresis band (percent of the best predicted carbon). */
export const DEFAULT_CARBON_TOLERANCE_PCT = 5
/** Requests that may wait for a free backend slot, per service. */
export const DEFAULT_QUEUE_MAX = 256
/** Longest a request waits in its service's queue before a 429 (ms). */
export const DEFAULT_QUEUE_TIMEOUT_MS = 30_000

/** Concurrent requests a backend takes before requests spill over or queue. */
export const DEFAULT_MAX_CONCURRENCY = 32
/**
 * Power usage effectiveness when a backend states none: 1.58, the industry average reported by the
 * Uptime Institute Global Data Center Survey 2023. Set `pue` per backend for a real site.
 */
export const DEFAULT_PUE = 1.58
/** Precision of a backend that states none. */
export const DEFAULT_PRECISION = 'bf16'
/** Connections in each backend's undici Pool. */
export const DEFAULT_CONNECTIONS = 64
/** TCP connect timeout per backend (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
/**
 * Time allowed for the upstream's response headers (ms). 10 minutes: undici's 300 s default cuts
 * long non-streaming completions.
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 600_000
/** Longest silence between body chunks (ms); 0 disables. */
export const DEFAULT_BODY_TIMEOUT_MS = 600_000

/** Largest request body accepted (bytes): 4 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 4 * 1024 * 1024
/** Time a client has to send a request's head (request line and headers), ms (slowloris guard). */
export const DEFAULT_CLIENT_HEADERS_TIMEOUT_MS = 10_000
/** Time a client has to send a whole request, head and body, ms (not the answer: streams may run long). */
export const DEFAULT_CLIENT_REQUEST_TIMEOUT_MS = 60_000
/** Idle time after which a keep-alive connection is closed, ms (above common load balancers' 60 s). */
export const DEFAULT_CLIENT_KEEP_ALIVE_TIMEOUT_MS = 72_000
/** Open client connections accepted at once; past it new connections are closed at once. Keep it
 * below the process's open-file limit (`ulimit -n`) minus the upstream connections. */
export const DEFAULT_CLIENT_MAX_CONNECTIONS = 8_192
/** Attempts per request across backends (1 = no retry). */
export const DEFAULT_MAX_ATTEMPTS = 3
/** Health probe period per backend (ms). */
export const DEFAULT_HEALTH_INTERVAL_MS = 5_000
/** Health probe timeout (ms). */
export const DEFAULT_HEALTH_TIMEOUT_MS = 2_000
/** Circuit breaker: consecutive failures that open it. */
export const DEFAULT_BREAKER_FAILURES = 3
/** Circuit breaker: first cooldown (ms). */
export const DEFAULT_BREAKER_COOLDOWN_MS = 5_000
/** Circuit breaker: largest cooldown after repeated failures (ms). */
export const DEFAULT_BREAKER_MAX_COOLDOWN_MS = 60_000
/** How often each zone's intensity is refreshed for routing and accounting (ms). */
export const DEFAULT_INTENSITY_REFRESH_MS = 60_000
/** Period at which idle energy and power samples are written to the ledger (ms). */
export const DEFAULT_ACCOUNTING_INTERVAL_MS = 60_000
/** Poll period of measured power meters (ms). */
export const DEFAULT_METER_INTERVAL_MS = 1_000
/**
 * Polls without a reading after which a measured meter is stale and its backend falls back to
 * modelled power (`meter.stale_after_ms` defaults to this × `interval_ms`).
 */
export const DEFAULT_METER_STALE_POLLS = 3
/** Longest time SIGTERM waits for in-flight requests before closing (ms). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000
/** Longest a request waits at start for the first health probes, ms. */
export const DEFAULT_WARMUP_WAIT_MS = 10_000

/** Key prefix of the shared load counters in Redis (`<prefix>:load:<backend>`). */
export const DEFAULT_CLUSTER_KEY_PREFIX = 'wattline'
/**
 * How long a replica's slot on a backend lives in Redis without renewal (ms): the slots of a
 * replica that crashed are freed at most this long after its last heartbeat.
 */
export const DEFAULT_CLUSTER_LEASE_MS = 30_000
/** How often a replica renews the leases of its in-flight requests (ms). */
export const DEFAULT_CLUSTER_HEARTBEAT_MS = 5_000
/**
 * How often a replica re-reads every backend's global in-flight count for its routing view (ms);
 * between reads the view follows the counts Redis returns on each acquire and release.
 */
export const DEFAULT_CLUSTER_SYNC_INTERVAL_MS = 250
/**
 * Longest a Redis command may take before the replica counts Redis as down and falls back to local
 * counting (ms): the most a Redis stall adds to a request.
 */
export const DEFAULT_CLUSTER_COMMAND_TIMEOUT_MS = 500

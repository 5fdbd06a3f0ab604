/**
 * @module api
 * Types of the gateway's read-only JSON API (docs/api.md) and a fetch helper. The dashboard holds no
 * business logic: every figure is computed by the server and only formatted here.
 */

export type Method = 'measured' | 'modelled'

export interface EstimateJson {
  readonly value: number
  readonly low: number
  readonly high: number
  readonly method: Method
  readonly source: string
}

export interface WindowJson {
  readonly from: string
  readonly to: string
  readonly from_ms: number
  readonly to_ms: number
}

export interface UsageSummary {
  readonly requests: number
  readonly failed_requests: number
  readonly output_tokens: number
  readonly it_energy_j: EstimateJson
  readonly facility_energy_j: EstimateJson
  readonly idle_energy_j: EstimateJson
  readonly carbon_g: EstimateJson
  readonly energy_per_1k_requests_wh: EstimateJson | null
  readonly carbon_per_1k_requests_g: EstimateJson | null
  readonly energy_per_output_token_j: EstimateJson | null
  readonly idle_share: number | null
  readonly measured_share: number | null
}

export interface UsageBucket {
  readonly at_ms: number
  readonly requests: number
  readonly facility_energy_j: number
  readonly carbon_g: number
  readonly energy_per_1k_requests_wh: number | null
  readonly carbon_per_1k_requests_g: number | null
}

export interface LeverSaving {
  readonly lever: string
  readonly baseline: string
  readonly energy_j: number
  readonly carbon_g: number
  readonly baseline_carbon_g: number
  readonly carbon_pct: number | null
  readonly method: Method
  readonly source: string
}

export interface Overview {
  readonly window: WindowJson
  readonly summary: UsageSummary
  readonly peak_power_w: {
    readonly value: number
    readonly at_ms: number | null
    readonly method: Method
    readonly source: string
  }
  readonly savings: readonly LeverSaving[]
  readonly intensity_signals: readonly string[]
  readonly bucket_ms: number
  readonly series: readonly UsageBucket[]
  readonly budgets_breached: number
}

export interface BudgetStatus {
  readonly service: string
  readonly metric: string
  readonly unit: string
  readonly stage: string
  readonly baseline: number
  readonly target: number
  readonly value: number | null
  readonly method: Method
  readonly ratio: number | null
  readonly breached: boolean
  readonly window_s: number
  readonly evaluated_at_ms: number | null
}

export interface ServiceRow {
  readonly name: string
  readonly summary: UsageSummary
  readonly budget: BudgetStatus | null
}

export interface Services {
  readonly window: WindowJson
  readonly services: readonly ServiceRow[]
}

export interface ServiceDetail extends ServiceRow {
  readonly window: WindowJson
  readonly window_value: number | null
  readonly window_burn: number | null
  readonly bucket_ms: number
  readonly series: readonly UsageBucket[]
}

export interface ZoneRow {
  readonly zone: string
  readonly current: {
    readonly intensity_g_per_kwh: number
    readonly signal: string
    readonly source: string
    readonly at_ms: number
    readonly forecast: boolean
    readonly stale: boolean
  } | null
  readonly requests: number
  readonly share_of_requests: number | null
  readonly facility_energy_j: number
  readonly carbon_g: number
  readonly share_of_carbon: number | null
  readonly mean_intensity_g_per_kwh: number | null
  readonly method: Method
}

export interface Zones {
  readonly window: WindowJson
  readonly zones: readonly ZoneRow[]
}

export interface BackendRow {
  readonly id: string
  readonly zone: string
  readonly hardware: string | null
  readonly healthy: boolean | null
  readonly inflight: number | null
  readonly max_concurrency: number | null
  readonly occupancy: number | null
  readonly pue: number | null
  readonly power_w: number | null
  readonly power_method: Method | null
  readonly power_source: string | null
  readonly requests: number
  readonly output_tokens: number
  readonly it_energy_j: number
  readonly measured_energy_j: number
  readonly modelled_energy_j: number
  readonly measured_share: number | null
  readonly energy_per_output_token_j: number | null
  readonly idle_energy_j: number
  readonly mean_power_w: number | null
}

export interface Backends {
  readonly window: WindowJson
  readonly backends: readonly BackendRow[]
}

export interface ScoreJson {
  readonly backend: string
  readonly eligible: boolean
  readonly reason: string | null
  readonly predicted_energy_j: number
  readonly predicted_carbon_g: number
  readonly predicted_latency_ms: number
  readonly score: number
}

export interface DecisionJson {
  readonly at: string
  readonly at_ms: number
  readonly request_id: string
  readonly service: string
  readonly model: string
  readonly kind: 'route' | 'reject'
  readonly policy: string
  readonly backend: string | null
  readonly reason: string
  readonly scores: readonly ScoreJson[]
}

export interface Decisions {
  readonly decisions: readonly DecisionJson[]
}

export interface AnomalyJson {
  readonly kind: 'energy_per_request' | 'backend_power'
  readonly subject: string
  readonly at_ms: number
  readonly value: number
  readonly unit: string
  readonly expected: number
  readonly expected_low: number
  readonly expected_high: number
  readonly score: number
  readonly direction: 'high' | 'low'
  readonly history: number
  readonly reason: string
}

export interface Anomalies {
  readonly window: WindowJson
  readonly anomalies: readonly AnomalyJson[]
}

/** The API root, resolved from the dashboard's own URL (`/dashboard/` → `/api/`). */
export function apiRoot(): URL {
  return new URL('../api/', new URL('.', window.location.href))
}

const TOKEN_KEY = 'wattline.adminToken'
/** Fired on `window` when the API answers 401: the shell then asks for the admin token. */
export const UNAUTHORIZED_EVENT = 'wattline:unauthorized'

/** Keeps the admin token for this tab only (sessionStorage), or forgets it with `null`. */
export function setAdminToken(token: string | null): void {
  if (token === null || token === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
}

/** GETs `path` (relative to the API root) with `params`; rejects with the API's error message. */
export async function getJson<T>(
  path: string,
  params: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<T> {
  const url = new URL(path, apiRoot())
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  const headers: Record<string, string> = { accept: 'application/json' }
  const token = sessionStorage.getItem(TOKEN_KEY)
  if (token !== null) headers['authorization'] = `Bearer ${token}`
  const res = await fetch(url, { signal, headers })
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT))
  const body: unknown = await res.json().catch(() => null)
  if (!res.ok) {
    const message =
      typeof body === 'object' && body !== null && 'error' in body
        ? String((body as { error: { message?: unknown } }).error.message)
        : `HTTP ${res.status}`
    throw new Error(`${url.pathname}: ${message}`)
  }
  return body as T
}

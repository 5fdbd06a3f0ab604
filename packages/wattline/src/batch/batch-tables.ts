/**
 * @module batch/batch-tables
 * Row types of the Batch API's tables (migration `0004_batch_api`), for Kysely.
 */
export type BatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled'

export type LineStatus = 'pending' | 'running' | 'done' | 'failed' | 'invalid' | 'cancelled'

export interface BatchFileRow {
  id: string
  purpose: string
  filename: string
  bytes: number
  service: string
  tenant: string | null
  created_at_ms: number
  content: string
}

export interface BatchRow {
  id: string
  service: string
  tenant: string | null
  endpoint: string
  input_file_id: string
  completion_window: string
  status: BatchStatus
  created_at_ms: number
  deadline_ms: number
  in_progress_at_ms: number | null
  finalizing_at_ms: number | null
  completed_at_ms: number | null
  cancelling_at_ms: number | null
  cancelled_at_ms: number | null
  failed_at_ms: number | null
  expired_at_ms: number | null
  output_file_id: string | null
  error_file_id: string | null
  total: number
  /** JSON object of string → string (OpenAI's `metadata`). */
  metadata: string | null
  /** JSON object zone → gCO2e/kWh in force at submission (the counterfactual of run-now). */
  submit_intensity: string
  /** JSON of the latest plan (slots, zone, mean forecast intensity), for `GET` and the docs. */
  plan: string | null
}

export interface BatchLineRow {
  batch_id: string
  line_no: number
  custom_id: string | null
  /** The request body (JSON text) for a valid line; null for an invalid one. */
  body: string | null
  status: LineStatus
  attempts: number
  claimed_by: string | null
  request_id: string | null
  response_status: number | null
  response_body: string | null
  error: string | null
  deferred_from_ms: number
  ran_at_ms: number | null
  zone: string | null
  energy_j: number | null
  carbon_g: number | null
  intensity_g_per_kwh: number | null
  carbon_saved_g: number | null
  carbon_saved_basis: string | null
}

export interface BatchLeaseRow {
  name: string
  holder: string
  expires_at_ms: number
}

export interface BatchTables {
  batch_files: BatchFileRow
  batches: BatchRow
  batch_lines: BatchLineRow
  batch_leases: BatchLeaseRow
}

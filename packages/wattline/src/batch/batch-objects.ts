/**
 * @module batch/batch-objects
 * OpenAI's wire shapes of the Batch API (`file`, `batch`, output and error file lines), built from
 * the stored rows. Times are Unix seconds, as OpenAI's. Wattline's own figures ride along under
 * `wattline` (extra fields, ignored by OpenAI clients).
 */
import type { LineCounts } from './batch-store.ts'
import type { BatchFileRow, BatchLineRow, BatchRow } from './batch-tables.ts'

const sec = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000))

export function fileObject(f: Omit<BatchFileRow, 'content'>): Record<string, unknown> {
  return {
    id: f.id,
    object: 'file',
    bytes: f.bytes,
    created_at: sec(f.created_at_ms),
    filename: f.filename,
    purpose: f.purpose,
    status: 'processed',
    expires_at: null,
    status_details: null,
  }
}

export interface BatchExtras {
  readonly counts: LineCounts
  readonly carbon: { carbon_g: number; carbon_saved_g: number; energy_j: number }
  readonly errors: readonly { line: number; message: string; code: string }[]
}

export function batchObject(b: BatchRow, x: BatchExtras): Record<string, unknown> {
  const c = x.counts
  return {
    id: b.id,
    object: 'batch',
    endpoint: b.endpoint,
    errors:
      x.errors.length === 0
        ? null
        : {
            object: 'list',
            data: x.errors.map((e) => ({
              code: e.code,
              message: e.message,
              param: null,
              line: e.line,
            })),
          },
    input_file_id: b.input_file_id,
    completion_window: b.completion_window,
    status: b.status,
    output_file_id: b.output_file_id,
    error_file_id: b.error_file_id,
    created_at: sec(b.created_at_ms),
    in_progress_at: sec(b.in_progress_at_ms),
    expires_at: sec(b.deadline_ms),
    finalizing_at: sec(b.finalizing_at_ms),
    completed_at: sec(b.completed_at_ms),
    failed_at: sec(b.failed_at_ms),
    expired_at: sec(b.expired_at_ms),
    cancelling_at: sec(b.cancelling_at_ms),
    cancelled_at: sec(b.cancelled_at_ms),
    request_counts: {
      total: c.total,
      completed: c.done,
      failed: c.failed + c.invalid + c.cancelled,
    },
    metadata: b.metadata === null ? null : (JSON.parse(b.metadata) as unknown),
    wattline: {
      plan: b.plan === null ? null : (JSON.parse(b.plan) as unknown),
      energy_j: x.carbon.energy_j,
      carbon_g: x.carbon.carbon_g,
      carbon_saved_g: x.carbon.carbon_saved_g,
      carbon_saved_basis: 'estimated-counterfactual',
      carbon_saved_baseline:
        'the same energy at the lowest intensity among the allowed zones at submission (run now)',
      method: 'as the ledger records each line (x-wattline-method)',
    },
  }
}

/** One line of the output file (a line that got an answer from the endpoint, 2xx). */
export function outputLine(batchId: string, l: BatchLineRow): string {
  return JSON.stringify({
    id: `batch_req_${batchId.slice('batch_'.length)}_${l.line_no}`,
    custom_id: l.custom_id,
    response: {
      status_code: l.response_status,
      request_id: l.request_id,
      body: l.response_body === null ? null : safeJson(l.response_body),
    },
    error: null,
    wattline: {
      line: l.line_no,
      deferred_from:
        l.deferred_from_ms === null ? null : new Date(l.deferred_from_ms).toISOString(),
      ran_at: l.ran_at_ms === null ? null : new Date(l.ran_at_ms).toISOString(),
      zone: l.zone,
      intensity_g_per_kwh: l.intensity_g_per_kwh,
      energy_j: l.energy_j,
      carbon_g: l.carbon_g,
      carbon_saved_g: l.carbon_saved_g,
      carbon_saved_basis: l.carbon_saved_basis,
    },
  })
}

/** One line of the error file: an invalid input line, a non-2xx answer, a cancelled or expired line. */
export function errorLine(batchId: string, l: BatchLineRow): string {
  const answered = l.response_status !== null
  return JSON.stringify({
    id: `batch_req_${batchId.slice('batch_'.length)}_${l.line_no}`,
    custom_id: l.custom_id,
    response: answered
      ? {
          status_code: l.response_status,
          request_id: l.request_id,
          body: l.response_body === null ? null : safeJson(l.response_body),
        }
      : null,
    error: answered
      ? null
      : {
          code:
            l.status === 'cancelled'
              ? 'batch_cancelled'
              : l.status === 'invalid'
                ? 'invalid_request'
                : l.error?.startsWith('batch_expired') === true
                  ? 'batch_expired'
                  : 'batch_failed',
          message: l.error ?? `line ${l.line_no}: ${l.status}`,
          line: l.line_no,
        },
  })
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

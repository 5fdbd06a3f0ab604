/**
 * @module batch/batch-service
 * The Batch API's operations, independent of HTTP: store an uploaded file, create a batch from it
 * (each JSONL line validated; malformed lines are kept, with their line numbers, for the error
 * file), read a batch as OpenAI's object, cancel one (honoured between lines by the scheduler).
 */
import { randomUUID } from 'node:crypto'
import { instant, WattlineError, type CarbonIntensitySource, type Clock } from '@wattline/core'
import type { WattlineConfig } from '../config/parse-config.ts'
import { invalidInput } from '../http/openai-errors.ts'
import { BATCH_ENDPOINTS, parseBatchJsonl } from './batch-jsonl.ts'
import { batchObject, fileObject } from './batch-objects.ts'
import type { BatchStore } from './batch-store.ts'
import type { BatchFileRow, BatchLineRow, BatchRow } from './batch-tables.ts'

export interface Owner {
  readonly service: string
  readonly tenant: string | null
}

export interface BatchServiceDeps {
  readonly store: BatchStore
  readonly config: WattlineConfig
  readonly clock: Clock
  readonly source: CarbonIntensitySource
}

const WINDOW = /^([1-9]\d{0,3})h$/

export function createBatchService(deps: BatchServiceDeps) {
  const { store, config, clock } = deps
  const cfg = config.batch

  const notFound = (what: string, id: string): WattlineError =>
    new WattlineError('WL_NOT_FOUND', `no ${what} '${id.slice(0, 128)}'`)
  const owns = (o: Owner, row: { service: string; tenant: string | null }): boolean =>
    row.service === o.service && (o.tenant === null || row.tenant === o.tenant)

  async function batchView(b: BatchRow): Promise<Record<string, unknown>> {
    const lines = await store.db
      .selectFrom('batch_lines')
      .select(['line_no', 'error'])
      .where('batch_id', '=', b.id)
      .where('status', '=', 'invalid')
      .orderBy('line_no')
      .limit(100)
      .execute()
    return batchObject(b, {
      counts: await store.counts(b.id),
      carbon: await store.carbon(b.id),
      errors: lines.map((l) => ({
        line: l.line_no,
        message: l.error ?? `line ${l.line_no} is invalid`,
        code: 'invalid_request',
      })),
    })
  }

  return {
    async uploadFile(
      owner: Owner,
      input: { purpose: string; filename: string; content: Buffer },
    ): Promise<Record<string, unknown>> {
      if (input.purpose !== 'batch') {
        throw invalidInput(
          `purpose must be "batch" (got "${input.purpose.slice(0, 64)}")`,
          'purpose',
        )
      }
      const text = input.content.toString('utf8')
      if (text.includes('\uFFFD') && !input.content.equals(Buffer.from(text, 'utf8'))) {
        throw invalidInput('file must be UTF-8 JSONL', 'file')
      }
      const row: BatchFileRow = {
        id: `file-${randomUUID().replaceAll('-', '')}`,
        purpose: 'batch',
        filename: input.filename.slice(0, 255),
        bytes: input.content.length,
        service: owner.service,
        tenant: owner.tenant,
        created_at_ms: clock.now(),
        content: text,
      }
      await store.insertFile(row)
      return fileObject(row)
    },

    async file(owner: Owner, id: string): Promise<BatchFileRow> {
      const f = await store.file(id)
      if (f === undefined || !owns(owner, f)) throw notFound('file', id)
      return f
    },

    async createBatch(owner: Owner, body: unknown): Promise<Record<string, unknown>> {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw invalidInput('request body must be a JSON object')
      }
      const o = body as Record<string, unknown>
      const inputFileId = o['input_file_id']
      if (typeof inputFileId !== 'string')
        throw invalidInput('input_file_id must be a string', 'input_file_id')
      const endpoint = o['endpoint']
      if (
        typeof endpoint !== 'string' ||
        !(BATCH_ENDPOINTS as readonly string[]).includes(endpoint)
      ) {
        throw invalidInput(`endpoint must be one of ${BATCH_ENDPOINTS.join(', ')}`, 'endpoint')
      }
      const window = o['completion_window']
      const m = typeof window === 'string' ? WINDOW.exec(window) : null
      const hours = m === null ? NaN : Number(m[1])
      if (!(hours <= cfg.max_completion_window_h)) {
        throw invalidInput(
          `completion_window must be hours like "24h", at most ${cfg.max_completion_window_h}h (batch.max_completion_window_h)`,
          'completion_window',
        )
      }
      const metadata = o['metadata']
      if (
        metadata !== undefined &&
        metadata !== null &&
        (typeof metadata !== 'object' ||
          Array.isArray(metadata) ||
          Object.values(metadata).some((v) => typeof v !== 'string'))
      ) {
        throw invalidInput('metadata must be an object of strings', 'metadata')
      }
      const file = await store.file(inputFileId)
      if (file === undefined || !owns(owner, file) || file.purpose !== 'batch') {
        throw notFound('batch input file', inputFileId)
      }
      const parsed = parseBatchJsonl(file.content, endpoint)
      const total = parsed.valid.length + parsed.invalid.length
      if (total > cfg.max_lines) {
        throw invalidInput(
          `input file has ${total} lines; a batch holds at most ${cfg.max_lines} (batch.max_lines)`,
          'input_file_id',
        )
      }
      if (total === 0) throw invalidInput('input file holds no request lines', 'input_file_id')
      const now = clock.now()
      const id = `batch_${randomUUID().replaceAll('-', '')}`
      const svc = config.services.find((s) => s.name === owner.service)
      const zones = [
        ...new Set(
          config.backends
            .filter((b) => svc?.backends === undefined || svc.backends.includes(b.id))
            .map((b) => b.zone),
        ),
      ]
      // what run-now would have met: the intensity in force at submission, per allowed zone
      const submit: Record<string, number> = {}
      for (const z of zones) {
        try {
          submit[z] = (await deps.source.intensityAt(z, instant(now))).intensity
        } catch {
          // unknown at submission: no counterfactual for this zone
        }
      }
      const base = {
        attempts: 0,
        claimed_by: null,
        request_id: null,
        response_status: null,
        response_body: null,
        deferred_from_ms: now,
        ran_at_ms: null,
        zone: null,
        energy_j: null,
        carbon_g: null,
        intensity_g_per_kwh: null,
        carbon_saved_g: null,
        carbon_saved_basis: null,
      }
      const lines: BatchLineRow[] = [
        ...parsed.valid.map((l): BatchLineRow => ({
          ...base,
          batch_id: id,
          line_no: l.line_no,
          custom_id: l.custom_id,
          body: JSON.stringify(l.body),
          status: 'pending',
          error: null,
        })),
        ...parsed.invalid.map((l): BatchLineRow => ({
          ...base,
          batch_id: id,
          line_no: l.line_no,
          custom_id: l.custom_id,
          body: null,
          status: 'invalid',
          error: l.message,
        })),
      ].sort((a, b) => a.line_no - b.line_no)
      const failed = parsed.valid.length === 0
      const row: BatchRow = {
        id,
        service: owner.service,
        tenant: owner.tenant,
        endpoint,
        input_file_id: inputFileId,
        completion_window: `${hours}h`,
        // a file with no valid line fails at once; the scheduler writes its error file
        status: failed ? 'failed' : 'in_progress',
        created_at_ms: now,
        deadline_ms: now + hours * 3_600_000,
        in_progress_at_ms: failed ? null : now,
        finalizing_at_ms: null,
        completed_at_ms: null,
        cancelling_at_ms: null,
        cancelled_at_ms: null,
        failed_at_ms: failed ? now : null,
        expired_at_ms: null,
        output_file_id: null,
        error_file_id: null,
        total,
        metadata: metadata === undefined || metadata === null ? null : JSON.stringify(metadata),
        submit_intensity: JSON.stringify(submit),
        plan: null,
      }
      await store.createBatch(row, lines)
      return batchView(row)
    },

    async batch(owner: Owner, id: string): Promise<Record<string, unknown>> {
      const b = await store.batch(id)
      if (b === undefined || !owns(owner, b)) throw notFound('batch', id)
      return batchView(b)
    },

    async listBatches(owner: Owner, limit: number): Promise<Record<string, unknown>> {
      let q = store.db
        .selectFrom('batches')
        .selectAll()
        .where('service', '=', owner.service)
        .orderBy('created_at_ms', 'desc')
        .limit(limit)
      if (owner.tenant !== null) q = q.where('tenant', '=', owner.tenant)
      const rows = await q.execute()
      const data = await Promise.all(rows.map((b) => batchView(b)))
      return {
        object: 'list',
        data,
        first_id: rows[0]?.id ?? null,
        last_id: rows.at(-1)?.id ?? null,
        has_more: false,
      }
    },

    async cancel(owner: Owner, id: string): Promise<Record<string, unknown>> {
      const b = await store.batch(id)
      if (b === undefined || !owns(owner, b)) throw notFound('batch', id)
      await store.transition(id, ['in_progress', 'validating'], 'cancelling', {
        cancelling_at_ms: clock.now(),
      })
      return batchView((await store.batch(id)) ?? b)
    },
  }
}

export type BatchService = ReturnType<typeof createBatchService>

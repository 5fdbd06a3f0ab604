/**
 * @module http/embeddings-batcher
 * Embeddings micro-batching (issue 11, lever 4; docs/gateway.md "Embeddings micro-batching").
 * Concurrent `/v1/embeddings` requests of a service that ask for the same output — same model,
 * same body fields besides `input` (encoding_format, dimensions, user, …), same kind of input
 * (text or token arrays), same tier preference and forwarded credentials — are merged into ONE
 * routed upstream call: the first one waits `window_ms` for others (a batch that reaches
 * `max_batch` inputs goes at once), the merged answer's `data[]` is split back so each caller gets
 * exactly its own inputs' embeddings, `index` renumbered from 0 in its own order.
 *
 * Accounting: the one call is one dispatch (one backend slot); each caller gets its own ledger row
 * charged its fraction of the call's energy by input tokens (`Gateway.finishShared`: the rows add
 * up to what the call was attributed), its whole share of the upstream's `usage` (apportioned by
 * input tokens: OpenAI-compatible servers report only a total), and — when the call served two or
 * more callers — its `microbatch` saving: the estimator's energy for its input tokens sent on its
 * own at the occupancy the callers would have made together (a model server batches concurrent
 * requests itself) minus its share, floored at 0 (basis `estimated-counterfactual`; an upper bound,
 * docs/gateway.md).
 */
import {
  canonicalJson,
  estimateRequest,
  instant,
  microbatchSaving,
  WattlineError,
  type Clock,
  type JsonValue,
  type LeverEnergySaving,
  type TierPreference,
} from '@wattline/core'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { BackendConfig } from '../config/parse-config.ts'
import type { ServiceConfig } from '../config/schema.ts'
import { accountingHeaders, type Accounting } from './accounting.ts'
import { profileOf } from './backend-runtime.ts'
import type { Gateway } from './gateway.ts'
import type { Dispatched, FinishInput, SharedPart } from '../gateway/exchange-types.ts'
import {
  callerAnswers,
  itemsOf,
  mergedCallError,
  splitAnswer,
  upstreamMessage,
  type Items,
  type MergedFailure,
} from './embeddings-split.ts'
import { clipInput } from './openai-errors.ts'
import { savingsCounters } from './metrics.ts'

/** Response header: how many callers the upstream call that answered this request served. */
export const BATCHED_HEADER = 'x-wattline-batched'

const ENDPOINT = '/v1/embeddings'

/**
 * Upstream statuses that judge the input (bad request, too large, unprocessable): a merged call
 * refused with one is retried caller by caller rather than failing every caller.
 */
const INPUT_REFUSALS: ReadonlySet<number> = new Set([400, 413, 422])

/** Ledger id suffix of a refused merged call's own row (`<first caller's request id>:merged`). */
export const MERGED_ID_SUFFIX = ':merged'
const UPSTREAM_PATH = '/embeddings'

export interface EmbeddingsBatcherDeps {
  readonly gateway: Gateway
  readonly clock: Clock
  readonly logger: Logger
  /** Where the savings counters live (`wattline_energy_saved_joules_total{lever="microbatch"}`). */
  readonly registry: Registry
}

/** One caller's embeddings request, already validated and authenticated. */
export interface EmbeddingsRequest {
  readonly service: ServiceConfig
  /** The model as the client named it. */
  readonly model: string
  /** The request body (its `input` is a string, strings, a token array or token arrays). */
  readonly body: Readonly<Record<string, unknown>>
  readonly tier?: TierPreference
  /** The client's Authorization, when the gateway forwards it upstream (no tenant keys). */
  readonly authorization?: string
  /** Aborts when the client leaves. */
  readonly signal: AbortSignal
  readonly requestId: string
  readonly tenant: string | null
  readonly arrivedMs: number
  /** Request body bytes as received (network accounting). */
  readonly requestBytes: number
  /** Called once the merged call is about to go upstream, with how many callers it serves. */
  readonly onDispatch?: (callers: number) => void
}

/** A caller's own answer, cut from the merged one. */
export interface EmbeddingsAnswer {
  readonly status: number
  readonly contentType: string
  readonly body: string
  /** content-type, `x-wattline-*` accounting of the caller's share, batched, model served. */
  readonly headers: Readonly<Record<string, string>>
  /** The backend that served the merged call. */
  readonly backend: string
  /** The model served (a lighter quality tier's when downgraded). */
  readonly model: string
  /** The caller's share of the call's energy and carbon. */
  readonly accounting: Accounting
  /** Callers the upstream call served (1 = none joined). */
  readonly batched: number
}

export interface EmbeddingsBatcher {
  /**
   * Whether the request joins a batch: its service has `embeddings_batching.enabled`, the endpoint
   * is `/v1/embeddings`, and its input holds 1 to `max_batch` items (more, or none, goes alone).
   */
  accepts(
    endpoint: string,
    service: ServiceConfig,
    body: Readonly<Record<string, unknown>>,
  ): boolean
  /** Queues the request into its batch; resolves with its own answer, rejects with a `WL_` error. */
  submit(request: EmbeddingsRequest): Promise<EmbeddingsAnswer>
}

/** A caller waiting in a batch. */
interface Member {
  readonly request: EmbeddingsRequest
  readonly input: Items
  resolve(answer: EmbeddingsAnswer): void
  reject(error: unknown): void
}

/** A batch filling up during its window. */
interface Batch {
  readonly key: string
  readonly service: ServiceConfig
  readonly model: string
  /** The body fields shared by every member (all but `input`). */
  readonly params: Readonly<Record<string, unknown>>
  readonly tier?: TierPreference
  readonly authorization?: string
  readonly members: Member[]
  size: number
  cancelTimer: () => void
}

/** Creates the batcher (one per gateway; it keeps no state beyond the batches in their window). */
export function createEmbeddingsBatcher(deps: EmbeddingsBatcherDeps): EmbeddingsBatcher {
  const { gateway, clock, logger } = deps
  const open = new Map<string, Batch>()
  let counters: ReturnType<typeof savingsCounters> | undefined

  function accepts(
    endpoint: string,
    service: ServiceConfig,
    body: Readonly<Record<string, unknown>>,
  ): boolean {
    const cfg = service.embeddings_batching
    if (endpoint !== ENDPOINT || !cfg.enabled || body['stream'] === true) return false
    const input = itemsOf(body['input'])
    return input !== undefined && input.items.length <= cfg.max_batch
  }

  function submit(request: EmbeddingsRequest): Promise<EmbeddingsAnswer> {
    const input = itemsOf(request.body['input'])
    if (input === undefined) {
      return Promise.reject(
        new WattlineError('WL_INVALID_INPUT', 'input must not be empty', {
          details: { param: 'input' },
        }),
      )
    }
    const cfg = request.service.embeddings_batching
    const params: Record<string, unknown> = { ...request.body }
    delete params['input']
    const key = JSON.stringify([
      request.service.name,
      input.kind,
      request.tier ?? '',
      request.authorization ?? '',
      canonicalJson(params as JsonValue),
    ])
    return new Promise<EmbeddingsAnswer>((resolve, reject) => {
      let batch = open.get(key)
      if (batch !== undefined && batch.size + input.items.length > cfg.max_batch) {
        flush(batch)
        batch = undefined
      }
      if (batch === undefined) {
        const b: Batch = {
          key,
          service: request.service,
          model: request.model,
          params,
          ...(request.tier === undefined ? {} : { tier: request.tier }),
          ...(request.authorization === undefined ? {} : { authorization: request.authorization }),
          members: [],
          size: 0,
          cancelTimer: () => undefined,
        }
        open.set(key, b)
        b.cancelTimer = clock.setTimer(instant(clock.now() + cfg.window_ms), () => flush(b))
        batch = b
      }
      batch.members.push({ request, input, resolve, reject })
      batch.size += input.items.length
      if (batch.size >= cfg.max_batch) flush(batch)
    })
  }

  /** Closes `batch` to newcomers and sends it. */
  function flush(batch: Batch): void {
    if (open.get(batch.key) === batch) open.delete(batch.key)
    batch.cancelTimer()
    run(batch).catch((error: unknown) => {
      // A bug past the fan-out: every caller still gets an answer.
      logger.error({ err: error }, 'embeddings batch failed')
      for (const m of batch.members) m.reject(error)
    })
  }

  async function run(batch: Batch): Promise<void> {
    // Callers that left while the batch was filling are dropped before it goes upstream.
    const members = batch.members.filter((m) => {
      if (!m.request.signal.aborted) return true
      m.reject(m.request.signal.reason)
      return false
    })
    if (members.length === 0) return
    // The merged call is aborted only when every caller left.
    const controller = new AbortController()
    let staying = members.length
    for (const m of members) {
      m.request.signal.addEventListener(
        'abort',
        () => {
          if (--staying === 0) controller.abort(new Error('every caller of the batch left'))
        },
        { once: true },
      )
    }
    const first = members[0] as Member
    const inputs = members.flatMap((m) => m.input.items)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'x-request-id': first.request.requestId,
    }
    if (batch.authorization !== undefined) headers['authorization'] = batch.authorization
    for (const m of members) m.request.onDispatch?.(members.length)
    let d: Dispatched
    try {
      d = await gateway.dispatch({
        service: batch.service,
        model: batch.model,
        ...(batch.tier === undefined ? {} : { tier: batch.tier }),
        inputTokens: members.reduce((n, m) => n + m.input.tokens, 0),
        outputTokens: 0,
        decodes: false,
        path: UPSTREAM_PATH,
        bodyFor: (b: BackendConfig, served: string = batch.model) =>
          JSON.stringify({
            ...batch.params,
            model: b.model_names[served] ?? served,
            input: inputs,
          }),
        headers,
        signal: controller.signal,
        requestId: first.request.requestId,
      })
    } catch (error) {
      // No backend took it (overloaded, unknown model, every backend failed): each caller is told.
      for (const m of members) m.reject(error)
      return
    }
    logger.debug(
      { reqId: first.request.requestId, callers: members.length, inputs: inputs.length },
      'embeddings batch dispatched',
    )
    await answer(batch, d, members, inputs.length)
  }

  /** Reads the merged answer, accounts every caller, and gives each its own part (or the error). */
  async function answer(
    batch: Batch,
    d: Dispatched,
    members: readonly Member[],
    inputs: number,
  ): Promise<void> {
    const status = d.response.status
    let text: string | undefined
    let readError: unknown
    try {
      text = await d.response.body.text()
    } catch (error) {
      readError = error
    }
    if (readError === undefined && members.length > 1 && INPUT_REFUSALS.has(status)) {
      refusedMerged(batch, d, members, status, text)
      return
    }
    const backend = d.backend.config.id
    const callers = members.length
    const split =
      text !== undefined && status === 200
        ? splitAnswer(
            text,
            members.map((m) => m.input.items.length),
            inputs,
          )
        : undefined
    const upstreamModel = d.backend.config.model_names[d.model]
    const own =
      split?.ok === true
        ? callerAnswers(
            split,
            members.map((m) => m.input.tokens),
            upstreamModel === undefined ? undefined : { from: upstreamModel, to: d.model },
          )
        : undefined
    const failure: MergedFailure | undefined =
      readError !== undefined
        ? {
            status: 502,
            why: 'the answer broke while it was read',
            backend,
            callers,
            cause: readError,
          }
        : own === undefined
          ? {
              status: status === 200 ? 502 : status,
              ...(text === undefined ? {} : { text }),
              ...(split?.ok === false ? { why: split.why } : {}),
              backend,
              callers,
            }
          : undefined
    const parts = members.map((m, i) =>
      partOf(d, m, {
        callers,
        completed: readError === undefined,
        ...(failure === undefined ? {} : { failure }),
        ...(own?.bodies[i] === undefined ? {} : { body: own.bodies[i] }),
        ...(own?.promptTokens?.[i] === undefined ? {} : { promptTokens: own.promptTokens[i] }),
      }),
    )
    const accountings = gateway.finishShared(d, parts)
    const contentType = String(d.response.headers['content-type'] ?? 'application/json')
    members.forEach((m, i) => {
      const a = accountings[i] as Accounting
      const body = own?.bodies[i]
      logDone(d, m, parts[i]?.input.status ?? 0, callers, a)
      if (failure !== undefined || body === undefined) {
        m.reject(mergedCallError(failure ?? { status: 502, backend, callers }))
        return
      }
      m.resolve({
        status: 200,
        contentType,
        body,
        headers: {
          'content-type': contentType,
          ...accountingHeaders(backend, a),
          [BATCHED_HEADER]: String(callers),
          'x-wattline-model-served': d.model,
        },
        backend,
        model: d.model,
        accounting: a,
        batched: callers,
      })
    })
  }

  /** A caller's part of the merged call: its ledger fields, token weight and saving. */
  function partOf(
    d: Dispatched,
    m: Member,
    o: {
      readonly callers: number
      readonly completed: boolean
      readonly failure?: MergedFailure
      readonly body?: string
      readonly promptTokens?: number
    },
  ): SharedPart {
    const left = m.request.signal.aborted
    const failed = o.failure === undefined ? undefined : failureCode(o.failure)
    const input: FinishInput = {
      status: left ? 499 : (o.failure?.status ?? 200),
      inputTokens: o.promptTokens ?? 0,
      outputTokens: 0,
      ttftMs: null,
      streamed: false,
      endpoint: ENDPOINT,
      requestId: m.request.requestId,
      tenant: m.request.tenant,
      arrivedMs: m.request.arrivedMs,
      errorCode: left ? 'client_closed' : (failed ?? null),
      completed: o.completed,
      networkBytes: m.request.requestBytes + Buffer.byteLength(o.body ?? ''),
    }
    const saves = o.failure === undefined && !left && o.callers > 1
    return {
      input,
      weight: m.input.tokens,
      ...(saves ? { levers: (a: Accounting) => savingOf(d, a, m.input.tokens, o.callers) } : {}),
    }
  }

  function logDone(d: Dispatched, m: Member, status: number, callers: number, a: Accounting): void {
    logger.info(
      {
        reqId: m.request.requestId,
        service: d.service,
        model: d.model,
        backend: d.backend.config.id,
        status,
        batched: callers,
        energy_j: a.energyJ,
        carbon_g: a.carbonG,
        method: a.method,
      },
      'request done',
    )
  }

  /**
   * The upstream refused a merged list as bad input (400, 413, 422): one caller's input may be at
   * fault (too long for the model, say), so no caller is told yet. The refused call is accounted as
   * one failed ledger row of its own (id `<first request id>:merged`, no tenant: the work was
   * spent), then each caller is sent alone, so only a caller whose own input is refused gets the
   * error.
   */
  function refusedMerged(
    batch: Batch,
    d: Dispatched,
    members: readonly Member[],
    status: number,
    text: string | undefined,
  ): void {
    const first = (members[0] as Member).request
    gateway.finish(d, {
      status,
      inputTokens: 0,
      outputTokens: 0,
      ttftMs: null,
      streamed: false,
      endpoint: ENDPOINT,
      requestId: `${first.requestId}${MERGED_ID_SUFFIX}`,
      tenant: null,
      arrivedMs: first.arrivedMs,
      errorCode: `upstream_${status}`,
      completed: true,
    })
    logger.warn(
      {
        reqId: first.requestId,
        backend: d.backend.config.id,
        status,
        callers: members.length,
        upstream: text === undefined ? undefined : clipInput(upstreamMessage(text) ?? ''),
      },
      'backend refused a merged embeddings call; sending its requests one by one',
    )
    for (const m of members) {
      const single: Batch = { ...batch, members: [m], size: m.input.items.length }
      flush(single)
    }
  }

  /**
   * The `microbatch` saving of a caller (none when it is 0), counted in the savings metrics. The
   * counterfactual is the caller's request sent on its own while the other callers' were too: a
   * model server batches concurrent requests itself, so it is priced at the occupancy they would
   * have made together (`callers`), not alone at occupancy 1.
   */
  function savingOf(
    d: Dispatched,
    a: Accounting,
    tokens: number,
    callers: number,
  ): LeverEnergySaving[] {
    const alone = estimateRequest(profileOf(d.backend, d.model), {
      inputTokens: Math.max(0, Math.round(tokens)),
      outputTokens: 0,
      batch: Math.max(1, callers),
    })
    const saving = microbatchSaving({
      alone: { value: alone.value, low: alone.low, high: alone.high },
      share: { value: a.energyJ, low: a.energyLowJ, high: a.energyHighJ },
      pue: a.pue,
      intensityGPerKwh: a.intensity.intensity,
    })
    if (!(saving.energy_saved_j > 0)) return []
    counters ??= savingsCounters(deps.registry)
    counters.energy.inc({ lever: 'microbatch', service: d.service }, saving.energy_saved_j)
    counters.carbon.inc({ lever: 'microbatch', service: d.service }, saving.carbon_saved_g)
    return [saving]
  }

  return { accepts, submit }
}

/** The ledger error code of a failed merged call: the upstream's status, or the WL_ code sent. */
function failureCode(f: MergedFailure): string {
  return f.why === undefined && f.status !== 200 && f.status < 500
    ? `upstream_${f.status}`
    : 'WL_UPSTREAM_UNAVAILABLE'
}

/**
 * @module gateway/accounting
 * When a response has ended: the request's energy (attributed by the lease's live mark), facility
 * energy and carbon at the zone's intensity now (`http/accounting.ts`), the measured latency
 * overhead that routing learns from, the Prometheus counters and the ledger row — without blocking
 * the request (a ledger that refuses a row is logged, never thrown). The row carries what the
 * levers saved (each `SavingsSource`: quality tier, prefix affinity and occupancy shaping, time
 * shift; a shared call's part adds its own), the model asked for when a tier downgraded it, the
 * zone a batch line was placed in, and the network energy of the bytes that crossed the service
 * boundary. The figures land on the exchange for the accounting headers and the usage chunk.
 *
 * A call that served several callers (embeddings micro-batching: `ex.parts`) gets one row per
 * part, each charged its weight's fraction of the call's energy (the rows add up to what the call
 * was attributed); the latency model learns once, from the whole call.
 *
 * Also the one writer of response-cache hits' rows (backend `cache`, 0 J, the cache saving).
 */
import {
  encodeLeverSavings,
  networkEnergyJ,
  shareFractions,
  trendCoefficient,
  utcYear,
  carbonOfItEnergy,
  type Clock,
  type LedgerSink,
  type LeverEnergySaving,
  type LiveRequestEnergy,
  type RequestRecord,
} from '@wattline/core'
import type { Logger } from 'pino'
import type { NetworkConfig } from '../config/schema.ts'
import { account, type Accounting } from '../http/accounting.ts'
import { observeLatency, profileOf, type BackendRuntime } from '../http/backend-runtime.ts'
import type { CacheHitInput, FinishInput, SharedPart } from './exchange-types.ts'
import type { IntensityBoard } from '../http/intensity-board.ts'
import type { GatewayMetrics } from '../http/metrics.ts'
import type { Exchange, Interceptor, SavingsSource } from './pipeline.ts'
import { routingReasonJson } from './routing-reason.ts'

/** The `backend` of ledger rows the response cache answered (no backend did any work). */
export const CACHE_BACKEND = 'cache'

export interface AccountingDeps {
  readonly intensity: IntensityBoard
  readonly metrics: GatewayMetrics
  readonly ledger: LedgerSink
  readonly logger: Logger
  /** The wall clock (a cache hit's latency). */
  readonly clock: Clock
  /** Network energy of the bytes a request moved (`network:`); omitted = not recorded. */
  readonly network?: NetworkConfig
  /** Levers whose savings join each row (in this order). */
  readonly savings?: readonly SavingsSource[]
}

/** The accounting interceptor, and the row writer of response-cache hits. */
export interface AccountingInterceptor extends Interceptor {
  /** Records a request the response cache answered: a ledger row with 0 J and the cache saving. */
  recordCacheHit(input: CacheHitInput): void
}

/** The label objects of one (service, model, backend): built once, shared, never mutated. */
interface RequestLabels {
  readonly base: {
    readonly service: string
    readonly model: string
    readonly backend: string
    readonly zone: string
  }
  readonly byStatus: Map<
    number,
    Record<'service' | 'model' | 'backend' | 'zone' | 'status', string>
  >
  readonly byMethod: Map<
    string,
    Record<'service' | 'model' | 'backend' | 'zone' | 'method', string>
  >
}

export function createAccounting(deps: AccountingDeps): AccountingInterceptor {
  const { metrics } = deps
  // Metric label objects per (service, model, backend) instead of per request: the set is bounded
  // by the config (models are checked before a request is routed).
  // Looked up backend → service → model: no key string built per request.
  const requestLabels = new Map<BackendRuntime, Map<string, Map<string, RequestLabels>>>()
  const labelsFor = (service: string, model: string, rt: BackendRuntime): RequestLabels => {
    let byService = requestLabels.get(rt)
    if (byService === undefined) requestLabels.set(rt, (byService = new Map()))
    let byModel = byService.get(service)
    if (byModel === undefined) byService.set(service, (byModel = new Map()))
    let l = byModel.get(model)
    if (l === undefined) {
      l = {
        base: { service, model, backend: rt.config.id, zone: rt.config.zone },
        byStatus: new Map(),
        byMethod: new Map(),
      }
      byModel.set(model, l)
    }
    return l
  }
  const sources = deps.savings ?? []
  const network = deps.network
  // The trend coefficient of the UTC year `[yearFromMs, yearToMs)` (network energy): looked up
  // when a request falls outside it, not per request (no Date and no source text per request).
  let yearFromMs = 0
  let yearToMs = -1
  let yearKwhPerGb = 0
  const trendKwhPerGb = (atMs: number): number => {
    if (!(atMs >= yearFromMs && atMs < yearToMs)) {
      const year = utcYear(atMs)
      yearKwhPerGb = trendCoefficient(year).kwhPerGb
      // setUTCFullYear, not Date.UTC: the latter reads years 0–99 as 1900–1999
      yearFromMs = new Date(0).setUTCFullYear(year, 0, 1)
      yearToMs = new Date(0).setUTCFullYear(year + 1, 0, 1)
    }
    return yearKwhPerGb
  }

  /** Sets the ledger's network fields of a request on `row` (none when disabled or not counted). */
  function addNetworkFields(
    row: Mutable<RequestRecord>,
    bytes: number | undefined,
    atMs: number,
    gPerKwh: number,
  ): void {
    if (bytes === undefined || network === undefined || !network.enabled) return
    const kwhPerGb = network.kwh_per_gb ?? trendKwhPerGb(atMs)
    const energyJ = networkEnergyJ(bytes, kwhPerGb)
    row.network_bytes = bytes
    row.network_energy_j = energyJ
    row.network_carbon_g = carbonOfItEnergy(energyJ, 1, gPerKwh)
  }

  /**
   * Accounts one request (or one part of a shared call) on `energy`: metrics and its ledger row.
   * `observe`: feed the latency model (false for parts: the call observes once).
   */
  function accountOne(
    ex: Exchange,
    input: FinishInput,
    energy: LiveRequestEnergy,
    observe: boolean,
    partLevers?: SharedPart['levers'],
  ): Accounting {
    const rt = ex.backend
    const endMs = ex.endedMs
    const model = ex.model
    const a = account({
      energy,
      meterSource: rt.meterSource,
      profile: profileOf(rt, model),
      pue: rt.config.pue,
      intensity: deps.intensity.current(rt.config.zone),
    })
    const latencyMs = endMs - input.arrivedMs
    if (observe && input.completed && input.status < 400) {
      observeLatency(
        rt,
        model,
        endMs - ex.startedMs,
        input.inputTokens,
        input.outputTokens,
        energy.meanOccupancy,
      )
    }
    const l = labelsFor(ex.service, model, rt)
    const labels = l.base
    let withStatus = l.byStatus.get(input.status)
    if (withStatus === undefined) {
      withStatus = { ...labels, status: String(input.status) }
      l.byStatus.set(input.status, withStatus)
    }
    let withMethod = l.byMethod.get(a.method)
    if (withMethod === undefined) {
      withMethod = { ...labels, method: a.method }
      l.byMethod.set(a.method, withMethod)
    }
    metrics.requests.inc(withStatus)
    metrics.duration.observe(labels, latencyMs / 1000)
    metrics.energy.inc(withMethod, a.energyJ)
    metrics.carbon.inc(labels, a.carbonG)
    // What the levers that acted on this request saved (the ledger's `levers`), gathered in the
    // one scratch list (encoded below, before anything else can use it): usually none acted.
    const leverSavings = scratchSavings
    leverSavings.length = 0
    for (const source of sources) source.savings(ex, a, input, energy.meanOccupancy, leverSavings)
    if (partLevers !== undefined) leverSavings.push(...partLevers(a))
    const d = ex.decision
    const tier = ex.tier
    // The optional fields are set after the literal, in the same order as before (no spreads).
    const record: Mutable<RequestRecord> = {
      kind: 'request',
      id: input.requestId,
      at_ms: input.arrivedMs,
      service: labels.service,
      tenant: input.tenant,
      model,
      backend: rt.config.id,
      zone: rt.config.zone,
      endpoint: input.endpoint,
      status: input.status,
      streamed: input.streamed,
      input_tokens: input.inputTokens,
      output_tokens: input.outputTokens,
      latency_ms: latencyMs,
      ttft_ms: input.ttftMs,
      energy_j: a.energyJ,
      energy_low_j: a.energyLowJ,
      energy_high_j: a.energyHighJ,
      facility_energy_j: a.facilityEnergyJ,
      pue: a.pue,
      carbon_g: a.carbonG,
      carbon_low_g: a.carbonLowG,
      carbon_high_g: a.carbonHighG,
      intensity_g_per_kwh: a.intensity.intensity,
      intensity_source: a.intensity.source,
      intensity_signal: a.intensity.signal,
      intensity_stale: a.intensity.stale,
      method: a.method,
      energy_source: a.energySource,
      routing_policy: d.policy,
      routing_reason: routingReasonJson(d, ex.pinnedZone),
      attempts: ex.attempts,
      error_code: input.errorCode,
    }
    addNetworkFields(record, input.networkBytes, input.arrivedMs, a.intensity.intensity)
    if (tier.reason !== undefined) record.model_requested = tier.requested
    if (leverSavings.length !== 0) {
      record.levers = encodeLeverSavings(leverSavings) as string
      leverSavings.length = 0
    }
    appendSafely(deps, record)
    return a
  }

  /** One caller's row per part of a shared call, each its weight's share of the energy. */
  function accountParts(ex: Exchange, parts: readonly SharedPart[], energy: LiveRequestEnergy) {
    // The latency model learns from the one call (all its tokens), not from each part.
    let tokens = 0
    let ok = false
    for (const p of parts) {
      if (p.input.completed && p.input.status < 400) {
        ok = true
        tokens += p.input.inputTokens
      }
    }
    if (ok) {
      observeLatency(
        ex.backend,
        ex.model,
        ex.endedMs - ex.startedMs,
        tokens,
        0,
        energy.meanOccupancy,
      )
    }
    const fractions = shareFractions(parts.map((p) => p.weight))
    return parts.map((p, i) =>
      accountOne(ex, p.input, scaled(energy, fractions[i] ?? 0), false, p.levers),
    )
  }

  return {
    name: 'accounting',
    finish(ex: Exchange, input): void {
      const energy = ex.energy
      if (energy === undefined) return // the lease did not run: nothing was attributed
      if (ex.parts === undefined) ex.accounting = accountOne(ex, input, energy, true)
      else ex.accountings = accountParts(ex, ex.parts, energy)
    },
    recordCacheHit(input: CacheHitInput): void {
      const intensity = deps.intensity.current(input.zone)
      const record: Mutable<RequestRecord> = {
        kind: 'request',
        id: input.requestId,
        at_ms: input.arrivedMs,
        service: input.service,
        tenant: input.tenant,
        model: input.model,
        backend: CACHE_BACKEND,
        zone: input.zone,
        endpoint: input.endpoint,
        status: 200,
        streamed: input.streamed,
        input_tokens: 0,
        output_tokens: 0,
        latency_ms: deps.clock.now() - input.arrivedMs,
        ttft_ms: null,
        energy_j: 0,
        energy_low_j: 0,
        energy_high_j: 0,
        facility_energy_j: 0,
        pue: 1,
        carbon_g: 0,
        carbon_low_g: 0,
        carbon_high_g: 0,
        intensity_g_per_kwh: intensity.intensity,
        intensity_source: intensity.source,
        intensity_signal: intensity.signal,
        intensity_stale: intensity.stale,
        method: 'measured',
        energy_source: 'response cache: no upstream work (0 J)',
        routing_policy: 'cache',
        routing_reason: JSON.stringify({ reason: 'answered from the response cache' }),
        attempts: 0,
        error_code: null,
        levers: encodeLeverSavings([input.saving]) as string,
      }
      addNetworkFields(record, input.networkBytes, input.arrivedMs, intensity.intensity)
      appendSafely(deps, record)
    },
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** The lever savings of the request being accounted (synchronous, so one list serves them all). */
const scratchSavings: LeverEnergySaving[] = []

/** `energy` (and its work) scaled by `fraction`: one part's share of a shared call. */
function scaled(e: LiveRequestEnergy, fraction: number): LiveRequestEnergy {
  return {
    ...e,
    energyJ: e.energyJ * fraction,
    measuredJ: e.measuredJ * fraction,
    modelledJ: e.modelledJ * fraction,
    workTokens: e.workTokens * fraction,
  }
}

/** Appends to the ledger; a refusal is logged, never thrown (accounting never fails a request). */
export function appendSafely(
  deps: Pick<AccountingDeps, 'ledger' | 'logger'>,
  record: Parameters<LedgerSink['append']>[0],
): void {
  try {
    deps.ledger.append(record)
  } catch (error) {
    deps.logger.error({ err: error, kind: record.kind }, 'ledger sink refused a record')
  }
}

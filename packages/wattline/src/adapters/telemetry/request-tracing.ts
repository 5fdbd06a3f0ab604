/**
 * @module adapters/telemetry/request-tracing
 * OpenTelemetry traces of the gateway's requests, exported over OTLP/HTTP (JSON) when the config has
 * a `telemetry:` section (off by default). Each answered request becomes a SERVER span for the HTTP
 * call into the gateway with a CLIENT child span for the model call, named and attributed after the
 * OpenTelemetry `gen_ai` semantic conventions (`gen_ai.operation.name`, `gen_ai.request.model`,
 * `gen_ai.usage.input_tokens`, ...), plus Wattline's accounting under `wattline.*` (energy in J with
 * its interval and method, carbon in gCO2e, zone, intensity and its source).
 *
 * Spans are built from the ledger's request record as it is appended (`tracingSink`), so tracing
 * sees exactly the figures the ledger stores, adds nothing to the request path but the append, and
 * needs no change to the pipeline. Times are the record's: arrival and arrival + latency.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Tracer,
} from '@opentelemetry/api'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'
import type { LedgerRecord, LedgerSink, RequestRecord } from '@wattline/core'

export interface RequestTracingOptions {
  /** OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`. */
  readonly endpoint: string
  /** Extra headers for the collector (e.g. an API key read from the environment). */
  readonly headers?: Readonly<Record<string, string>>
  /** `service.name` of the resource. */
  readonly serviceName: string
  /** Fraction of requests traced, 0–1. */
  readonly sampleRatio: number
  /** Backend id → base URL, for `server.address` / `server.port` of the model call. */
  readonly backendUrls: ReadonlyMap<string, string>
  /** Wattline's version, the tracer's version. */
  readonly version: string
  /** Longest wait for the exporter between batches, ms. */
  readonly exportDelayMs?: number
}

export interface RequestTracing {
  /** Records one answered request as spans. */
  record(r: RequestRecord): void
  /** Exports what is buffered. */
  flush(): Promise<void>
  /** Exports what is buffered and stops the exporter. */
  close(): Promise<void>
}

/** `gen_ai.operation.name` for each OpenAI endpoint the gateway serves. */
const OPERATIONS: Readonly<Record<string, string>> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'text_completion',
  '/v1/embeddings': 'embeddings',
}

/** Creates the tracer provider and its OTLP exporter. */
export function createRequestTracing(options: RequestTracingOptions): RequestTracing {
  const exporter = new OTLPTraceExporter({
    url: options.endpoint,
    headers: { ...options.headers },
  })
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.serviceName,
      'service.version': options.version,
    }),
    sampler: new TraceIdRatioBasedSampler(options.sampleRatio),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        scheduledDelayMillis: options.exportDelayMs ?? 2_000,
        maxQueueSize: 8_192,
        maxExportBatchSize: 512,
      }),
    ],
  })
  const tracer = provider.getTracer('wattline', options.version)
  return {
    record: (r) => recordSpans(tracer, r, options.backendUrls),
    flush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  }
}

function recordSpans(tracer: Tracer, r: RequestRecord, urls: ReadonlyMap<string, string>): void {
  const operation = OPERATIONS[r.endpoint] ?? 'chat'
  const end = r.at_ms + r.latency_ms
  const failed = r.status >= 400
  const wattline: Attributes = {
    'wattline.request_id': r.id,
    'wattline.service': r.service,
    ...(r.tenant === null ? {} : { 'wattline.tenant': r.tenant }),
    'wattline.backend': r.backend,
    'wattline.zone': r.zone,
    'wattline.energy_j': r.energy_j,
    'wattline.energy_low_j': r.energy_low_j,
    'wattline.energy_high_j': r.energy_high_j,
    'wattline.energy_method': r.method,
    'wattline.energy_source': r.energy_source,
    'wattline.facility_energy_j': r.facility_energy_j,
    'wattline.pue': r.pue,
    'wattline.carbon_g': r.carbon_g,
    'wattline.carbon_low_g': r.carbon_low_g,
    'wattline.carbon_high_g': r.carbon_high_g,
    'wattline.intensity_g_per_kwh': r.intensity_g_per_kwh,
    'wattline.intensity_source': r.intensity_source,
    'wattline.intensity_signal': r.intensity_signal,
    'wattline.routing_policy': r.routing_policy,
    'wattline.attempts': r.attempts,
  }
  const server = tracer.startSpan(`POST ${r.endpoint}`, {
    kind: SpanKind.SERVER,
    startTime: r.at_ms,
    attributes: {
      'http.request.method': 'POST',
      'url.path': r.endpoint,
      'http.response.status_code': r.status,
      ...wattline,
    },
  })
  if (failed) {
    server.setAttribute('error.type', r.error_code ?? String(r.status))
    server.setStatus({ code: SpanStatusCode.ERROR })
  }
  if (r.backend !== '' && r.backend !== 'none') {
    const url = parseUrl(urls.get(r.backend))
    const client = tracer.startSpan(
      `${operation} ${r.model}`,
      {
        kind: SpanKind.CLIENT,
        startTime: r.at_ms,
        attributes: {
          'gen_ai.operation.name': operation,
          'gen_ai.provider.name': 'openai_compatible',
          'gen_ai.request.model': r.model,
          'gen_ai.response.model': r.model,
          'gen_ai.usage.input_tokens': r.input_tokens,
          'gen_ai.usage.output_tokens': r.output_tokens,
          ...(url === undefined
            ? {}
            : { 'server.address': url.hostname, 'server.port': portOf(url) }),
          ...(r.ttft_ms === null ? {} : { 'wattline.ttft_ms': r.ttft_ms }),
          'wattline.streamed': r.streamed,
          'wattline.energy_j': r.energy_j,
          'wattline.carbon_g': r.carbon_g,
        },
      },
      trace.setSpan(ROOT_CONTEXT, server),
    )
    if (failed) {
      client.setAttribute('error.type', r.error_code ?? String(r.status))
      client.setStatus({ code: SpanStatusCode.ERROR })
    }
    client.end(end)
  }
  server.end(end)
}

function parseUrl(s: string | undefined): URL | undefined {
  if (s === undefined) return undefined
  try {
    return new URL(s)
  } catch {
    return undefined
  }
}

function portOf(u: URL): number {
  if (u.port !== '') return Number(u.port)
  return u.protocol === 'https:' ? 443 : 80
}

/** A sink that also traces each request record, then hands every record on. */
export function tracingSink(inner: LedgerSink, tracing: RequestTracing): LedgerSink {
  return {
    append(record: LedgerRecord) {
      if (record.kind === 'request') tracing.record(record)
      inner.append(record)
    },
    flush: async () => {
      await Promise.all([inner.flush(), tracing.flush()])
    },
    close: async () => {
      try {
        await inner.close()
      } finally {
        await tracing.close()
      }
    },
  }
}

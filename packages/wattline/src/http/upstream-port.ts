/**
 * @module http/upstream-port
 * The `Upstream` port as the gateway uses it: response bodies are undici's (the gateway relays and
 * drains them as Node streams), whatever adapter sends the request. Declared here, not taken from
 * the adapter, so the gateway depends on core's port and never on `adapters/`; compose hands it
 * `createOpenAiUpstream`'s upstreams (the same type, structurally).
 */
import type {
  Upstream as CoreUpstream,
  UpstreamResponse as CoreUpstreamResponse,
} from '@wattline/core'
import type { Dispatcher } from 'undici'

export { UpstreamFailure } from '@wattline/core'
export type { UpstreamFailureKind, UpstreamRequest } from '@wattline/core'

/** An undici response body (a Node Readable with `text()`, `json()`, `dump()`). */
export type UpstreamBody = Dispatcher.ResponseData['body']

/** The port's response with undici's body. */
export type UpstreamResponse = CoreUpstreamResponse<UpstreamBody>

/** One backend as the gateway calls it. */
export type Upstream = CoreUpstream<UpstreamBody>

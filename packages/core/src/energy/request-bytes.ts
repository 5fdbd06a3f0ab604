/**
 * @module energy/request-bytes
 * Bytes a chat completion puts on the wire at the service boundary (request body + response body,
 * what the gateway records as `network_bytes`), estimated from token counts where only tokens are
 * known (a replayed trace). Two parts, each with its basis:
 * - text: 4 bytes per token — the common rule of thumb that one token of English is about four
 *   characters (OpenAI, "What are tokens and how to count them"), one byte each in UTF-8; other
 *   languages and code run higher, so this is a floor rather than a mean;
 * - framing: the JSON (or SSE) envelope around the text, measured over real HTTP from the
 *   OpenAI-shaped simulated model server whose bodies the gateway relays unchanged
 *   (`packages/wattline/scripts/measure-request-bytes.ts`, 32 requests, least-squares intercepts
 *   and slopes): request 164 B; JSON answer 313 B; SSE answer 456 B plus 215 B of chunk envelope per
 *   output token (one `data:` chunk per token), i.e. a streamed answer carries ~55× the bytes of its
 *   text. Modelled, never measured per request.
 */

/** The bytes model and its sources. */
export const REQUEST_BYTES_MODEL = Object.freeze({
  textBytesPerToken: 4,
  requestOverheadBytes: 164,
  jsonAnswerOverheadBytes: 313,
  sseAnswerOverheadBytes: 456,
  sseEnvelopeBytesPerOutputToken: 215,
  source:
    'modelled: 4 B/token of text (OpenAI rule of thumb, ~4 characters of English per token) + JSON/SSE framing measured from OpenAI-shaped answers over HTTP (scripts/measure-request-bytes.ts): request 164 B, JSON answer 313 B, SSE answer 456 B + 215 B per output token',
})

/**
 * Estimated boundary bytes of one request: request body + answer body; `streamedShare` (0–1) of
 * answers are SSE streams, the rest JSON.
 */
export function estimateRequestBytes(
  inputTokens: number,
  outputTokens: number,
  streamedShare = 0,
): number {
  const m = REQUEST_BYTES_MODEL
  const s = Math.min(1, Math.max(0, streamedShare))
  const inTok = Math.max(0, inputTokens)
  const outTok = Math.max(0, outputTokens)
  const request = m.requestOverheadBytes + m.textBytesPerToken * inTok
  const json = m.jsonAnswerOverheadBytes + m.textBytesPerToken * outTok
  const sse =
    m.sseAnswerOverheadBytes + (m.textBytesPerToken + m.sseEnvelopeBytesPerOutputToken) * outTok
  return request + (1 - s) * json + s * sse
}

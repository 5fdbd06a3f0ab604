/**
 * @module http/answer-usage
 * The `usage` of a buffered JSON answer, read from its last member when that is `usage` — where
 * OpenAI and the OpenAI-compatible servers write it — by parsing that member's value alone, not
 * the whole answer (the choices' text included): ≈ 0.35 against ≈ 1 µs and ≈ 330 B for a short
 * answer, the difference growing with the answer's length (docs/benchmarks.md "Per-request
 * allocation (issue 13)").
 *
 * It applies when the text, spaces aside, starts with `{`, ends with `}`, and its last `"usage":`
 * follows a `,` or `{` and is followed by one JSON value up to that last `}`: in a JSON document
 * that is the top-level object's `usage`, the one `JSON.parse` would return (its last, when
 * repeated). Otherwise (usage not last or absent, a key spelled with escapes, …) the caller parses
 * the whole answer as before. The rest of the answer is not checked: an answer that is not JSON
 * as a whole but ends with such a member has its usage read, where a whole parse would fail.
 */
import { readUsage, type StreamUsage } from './sse-relay.ts'

/** The answer does not end with a `usage` member: parse it whole. */
export const NOT_AT_END: unique symbol = Symbol('usage not at the end')

const KEY = '"usage":'

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/** `readUsage` of the answer's last member when it is `usage`; `NOT_AT_END` when it is not. */
export function usageAtEnd(text: string): StreamUsage | undefined | typeof NOT_AT_END {
  const at = text.lastIndexOf(KEY)
  if (at < 1) return NOT_AT_END
  let first = 0
  while (first < at && isSpace(text.charCodeAt(first))) first++
  if (text.charCodeAt(first) !== 0x7b) return NOT_AT_END // {
  let before = at - 1
  while (before > first && isSpace(text.charCodeAt(before))) before--
  const c = text.charCodeAt(before)
  if (c !== 0x2c && c !== 0x7b) return NOT_AT_END // , or {
  let end = text.length - 1
  while (end > at && isSpace(text.charCodeAt(end))) end--
  if (text.charCodeAt(end) !== 0x7d) return NOT_AT_END // }
  let value: unknown
  try {
    value = JSON.parse(text.slice(at + KEY.length, end))
  } catch {
    return NOT_AT_END
  }
  return readUsage(value)
}

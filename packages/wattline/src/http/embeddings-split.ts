/**
 * @module http/embeddings-split
 * The pure half of embeddings micro-batching (docs/gateway.md "Embeddings micro-batching"): an
 * embeddings `input` cut into items, a merged answer cut back into each caller's own answer (its
 * embeddings in its order, `index` from 0, its whole share of `usage`), and the error a failed
 * merged call gives its callers.
 */
import { apportionWhole, WattlineError } from '@wattline/core'
import { clipInput } from './openai-errors.ts'

/** An embeddings input cut into items: text (one string each) or tokens (one token array each). */
export interface Items {
  readonly kind: 'text' | 'tokens'
  readonly items: readonly (string | readonly number[])[]
  /** Input tokens: ⌈characters / 4⌉ per string (an estimate), the length of each token array. */
  readonly tokens: number
}

/** Cuts `input` into items; undefined when it has none or is not an embeddings input. */
export function itemsOf(input: unknown): Items | undefined {
  if (typeof input === 'string') return { kind: 'text', items: [input], tokens: textTokens(input) }
  if (!Array.isArray(input) || input.length === 0) return undefined
  if (input.every((x) => typeof x === 'string'))
    return {
      kind: 'text',
      items: input,
      tokens: input.reduce((n: number, s: string) => n + textTokens(s), 0),
    }
  if (input.every((x) => typeof x === 'number')) {
    return { kind: 'tokens', items: [input as number[]], tokens: input.length }
  }
  if (input.every((x) => Array.isArray(x) && x.every((t) => typeof t === 'number'))) {
    const arrays = input as number[][]
    return { kind: 'tokens', items: arrays, tokens: arrays.reduce((n, a) => n + a.length, 0) }
  }
  return undefined
}

function textTokens(s: string): number {
  return Math.ceil(s.length / 4)
}

/** A merged answer cut per caller. */
export interface SplitAnswer {
  readonly ok: true
  /** The upstream's answer object (its `data` and `usage` are replaced per caller). */
  readonly object: Readonly<Record<string, unknown>>
  /** Each caller's items, in its own input order. */
  readonly parts: readonly (readonly Record<string, unknown>[])[]
  readonly usage?: Readonly<Record<string, unknown>>
  readonly promptTokens?: number
  readonly totalTokens?: number
}

/** The merged answer cut per caller, or why it cannot be. */
export type Split = SplitAnswer | { readonly ok: false; readonly why: string }

/**
 * Cuts the upstream's `data[]` into consecutive runs of `counts` items, in input order: by each
 * item's `index` when the indices are exactly 0…n−1 (servers may list them in any order), else by
 * position. Refuses an answer that does not hold one item per input.
 */
export function splitAnswer(text: string, counts: readonly number[], inputs: number): Split {
  let obj: unknown
  try {
    obj = JSON.parse(text)
  } catch {
    return { ok: false, why: 'the answer is not JSON' }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    return { ok: false, why: 'the answer is not a JSON object' }
  const o = obj as Record<string, unknown>
  const data = o['data']
  if (!Array.isArray(data)) return { ok: false, why: 'the answer has no data list' }
  if (data.length !== inputs)
    return { ok: false, why: `the answer holds ${data.length} embeddings for ${inputs} inputs` }
  if (!data.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x)))
    return { ok: false, why: 'a data item is not an object' }
  const ordered = inInputOrder(data as Record<string, unknown>[])
  const parts: Record<string, unknown>[][] = []
  let at = 0
  for (const n of counts) {
    parts.push(ordered.slice(at, at + n))
    at += n
  }
  const usage = o['usage']
  const u =
    usage !== null && typeof usage === 'object' && !Array.isArray(usage)
      ? (usage as Record<string, unknown>)
      : undefined
  const promptTokens = whole(u?.['prompt_tokens'])
  const totalTokens = whole(u?.['total_tokens'])
  return {
    ok: true,
    object: o,
    parts,
    ...(u === undefined ? {} : { usage: u }),
    ...(promptTokens === undefined ? {} : { promptTokens }),
    ...(totalTokens === undefined ? {} : { totalTokens }),
  }
}

/** `items` by their `index` when the indices are exactly 0…n−1, else as listed. */
function inInputOrder(items: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const byIndex: (Record<string, unknown> | undefined)[] = new Array<undefined>(items.length)
  for (const item of items) {
    const i = item['index']
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= items.length || byIndex[i])
      return [...items]
    byIndex[i] = item
  }
  return byIndex as Record<string, unknown>[]
}

function whole(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined
}

/** Each caller's own answer. */
export interface CallerAnswers {
  /** The JSON text each caller receives. */
  readonly bodies: readonly string[]
  /** Each caller's whole share of the upstream's `prompt_tokens`; undefined when it sent none. */
  readonly promptTokens?: readonly number[]
}

/**
 * The answer each caller receives: the upstream's object with the caller's own items (`index`
 * renumbered from 0), `usage.prompt_tokens` and `total_tokens` apportioned whole by `weights`
 * (input tokens: the parts add up to the upstream's figures), and the upstream's model name mapped
 * back to the client's (`modelBack`).
 */
export function callerAnswers(
  split: SplitAnswer,
  weights: readonly number[],
  modelBack?: { readonly from: string; readonly to: string },
): CallerAnswers {
  const prompt =
    split.promptTokens === undefined ? undefined : apportionWhole(split.promptTokens, weights)
  const total =
    split.totalTokens === undefined ? undefined : apportionWhole(split.totalTokens, weights)
  const bodies = split.parts.map((part, i) => {
    const own: Record<string, unknown> = { ...split.object }
    own['data'] = part.map((item, index) => ({ ...item, index }))
    if (split.usage !== undefined) {
      own['usage'] = {
        ...split.usage,
        ...(prompt === undefined ? {} : { prompt_tokens: prompt[i] }),
        ...(total === undefined ? {} : { total_tokens: total[i] }),
      }
    }
    if (modelBack !== undefined && own['model'] === modelBack.from) own['model'] = modelBack.to
    return JSON.stringify(own)
  })
  return { bodies, ...(prompt === undefined ? {} : { promptTokens: prompt }) }
}

/** How a merged call failed, for its callers. */
export interface MergedFailure {
  /** The upstream's status (not 200), or 502 for an answer unread or unsplittable. */
  readonly status: number
  /** The upstream's answer text, when it was read. */
  readonly text?: string
  /** Why the answer could not be read or split. */
  readonly why?: string
  readonly backend: string
  readonly callers: number
  readonly cause?: unknown
}

/** The OpenAI-shaped error every caller of a failed merged call gets. */
export function mergedCallError(f: MergedFailure): WattlineError {
  const of =
    f.callers === 1
      ? `the embeddings call to backend ${f.backend}`
      : `the merged embeddings call (${f.callers} requests) to backend ${f.backend}`
  if (f.why !== undefined || f.status === 200 || f.status >= 500)
    return new WattlineError(
      'WL_UPSTREAM_UNAVAILABLE',
      `${of} failed: ${f.why ?? `status ${f.status}`}`,
      { cause: f.cause, details: { status: 502 } },
    )
  const said = upstreamMessage(f.text)
  const message = `${of} was refused with status ${f.status}${said === undefined ? '' : `: ${clipInput(said)}`}`
  if (f.status === 429)
    return new WattlineError('WL_OVERLOADED', message, { details: { status: 429 } })
  return new WattlineError('WL_INVALID_INPUT', message, {
    details: { status: f.status, param: 'input' },
  })
}

/** The `error.message` of an OpenAI-shaped error body (else the text's start), if there is one. */
export function upstreamMessage(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  try {
    const o = JSON.parse(text) as { error?: { message?: unknown } | string }
    if (typeof o.error === 'string') return o.error
    if (typeof o.error?.message === 'string') return o.error.message
  } catch {
    // not JSON
  }
  return text === '' ? undefined : text.slice(0, 200)
}

/**
 * @module http/openai-request
 * Checks the few body fields the gateway reads (model, stream, max_tokens, stream_options, and the
 * endpoint's required input) and estimates prompt tokens for routing. Everything else passes
 * through untouched; the upstream remains the judge of fields it owns.
 */
import * as z from 'zod'
import { invalidInput } from './openai-errors.ts'

export const ENDPOINTS = {
  '/v1/chat/completions': { path: '/chat/completions', input: 'messages', streams: true },
  '/v1/completions': { path: '/completions', input: 'prompt', streams: true },
  '/v1/embeddings': { path: '/embeddings', input: 'input', streams: false },
} as const
export type EndpointPath = keyof typeof ENDPOINTS

/** What the gateway needs from a request body. */
export interface RequestFacts {
  readonly model: string
  readonly stream: boolean
  readonly clientWantsUsage: boolean
  /** Prompt tokens estimated from text length (≈ 4 characters per token) for routing only. */
  readonly estimatedInputTokens: number
  readonly maxTokens: number | undefined
}

const common = z.looseObject({
  model: z.string({ error: 'model must be a string' }).min(1, { error: 'model must not be empty' }),
  stream: z.boolean({ error: 'stream must be a boolean' }).nullish(),
  stream_options: z
    .looseObject({
      include_usage: z
        .boolean({ error: 'stream_options.include_usage must be a boolean' })
        .nullish(),
    })
    .nullish(),
  max_tokens: z
    .int({ error: 'max_tokens must be an integer' })
    .positive({ error: 'max_tokens must be > 0' })
    .nullish(),
  max_completion_tokens: z
    .int({ error: 'max_completion_tokens must be an integer' })
    .positive()
    .nullish(),
})

const inputs = {
  messages: z
    .array(z.looseObject({ role: z.string({ error: 'each message needs a role string' }) }), {
      error: 'messages must be an array of messages',
    })
    .min(1, { error: 'messages must not be empty' }),
  prompt: z.union([z.string(), z.array(z.string()), z.array(z.int()), z.array(z.array(z.int()))], {
    error: 'prompt must be a string, an array of strings or token arrays',
  }),
  input: z.union([z.string(), z.array(z.string()), z.array(z.int()), z.array(z.array(z.int()))], {
    error: 'input must be a string, an array of strings or token arrays',
  }),
}

/**
 * Validates `body` for `endpoint`; throws `WL_INVALID_INPUT` naming the field. A body of the usual
 * shape is read by {@link quickFacts} (plain property checks, no allocation beyond the facts);
 * anything it does not recognise at once goes through the zod schemas, which judge it and word the
 * error. Both accept the same bodies with the same facts (property-tested).
 */
export function readRequest(endpoint: EndpointPath, body: unknown): RequestFacts {
  return quickFacts(endpoint, body) ?? validatedFacts(endpoint, body)
}

/** The facts of `body` by the zod schemas (the reference `readRequest`'s quick path agrees with). */
export function validatedFacts(endpoint: EndpointPath, body: unknown): RequestFacts {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidInput('the request body must be a JSON object')
  }
  const spec = ENDPOINTS[endpoint]
  const parsed = common.safeParse(body)
  if (!parsed.success) throw fromIssue(parsed.error)
  const input = inputs[spec.input].safeParse((body as Record<string, unknown>)[spec.input])
  if (!input.success) {
    const first = input.error.issues[0]
    if ((body as Record<string, unknown>)[spec.input] === undefined) {
      throw invalidInput(`missing required field '${spec.input}'`, spec.input)
    }
    throw invalidInput(
      first?.message ?? `invalid ${spec.input}`,
      [spec.input, ...(first?.path ?? [])].map(String).join('.'),
    )
  }
  const b = parsed.data
  const stream = b.stream === true
  if (stream && !spec.streams) throw invalidInput(`${endpoint} does not stream`, 'stream')
  return {
    model: b.model,
    stream,
    clientWantsUsage: stream && b.stream_options?.include_usage === true,
    estimatedInputTokens: Math.ceil(textLength((body as Record<string, unknown>)[spec.input]) / 4),
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined,
  }
}

/** A plain object (what JSON.parse makes), not an array. */
const isPlain = (x: unknown): x is Record<string, unknown> => {
  if (x === null || typeof x !== 'object') return false
  const proto = Object.getPrototypeOf(x) as unknown
  return proto === Object.prototype || proto === null
}
const isNullish = (x: unknown): x is null | undefined => x === undefined || x === null
/** What the schemas' `z.int().positive().nullish()` accept. */
const isCount = (x: unknown): boolean =>
  isNullish(x) || (typeof x === 'number' && Number.isSafeInteger(x) && x > 0)

/**
 * The facts of a body every check of the schemas plainly accepts (string model, the optional fields
 * of the right types, a non-empty `messages` of objects with a `role` string, or a `prompt`/`input`
 * that is a string or an array of strings or of integers); undefined for anything else, which the
 * schemas then judge.
 */
function quickFacts(endpoint: EndpointPath, body: unknown): RequestFacts | undefined {
  if (!isPlain(body)) return undefined
  const spec = ENDPOINTS[endpoint]
  const model = body['model']
  const stream = body['stream']
  const so = body['stream_options']
  const maxTokens = body['max_tokens']
  const maxCompletion = body['max_completion_tokens']
  if (typeof model !== 'string' || model.length === 0) return undefined
  if (!isNullish(stream) && typeof stream !== 'boolean') return undefined
  if (stream === true && !spec.streams) return undefined
  let includeUsage: unknown
  if (!isNullish(so)) {
    if (!isPlain(so)) return undefined
    includeUsage = so['include_usage']
    if (!isNullish(includeUsage) && typeof includeUsage !== 'boolean') return undefined
  }
  if (!isCount(maxTokens) || !isCount(maxCompletion)) return undefined
  const input = body[spec.input]
  if (!quickInput(spec.input, input)) return undefined
  return {
    model,
    stream: stream === true,
    clientWantsUsage: stream === true && includeUsage === true,
    estimatedInputTokens: Math.ceil(textLength(input) / 4),
    maxTokens: (maxCompletion ?? maxTokens ?? undefined) as number | undefined,
  }
}

/** True when the schemas plainly accept `value` as the endpoint's input (see `quickFacts`). */
function quickInput(field: keyof typeof inputs, value: unknown): boolean {
  if (field === 'messages') {
    if (!Array.isArray(value) || value.length === 0) return false
    for (const m of value as unknown[])
      if (!isPlain(m) || typeof m['role'] !== 'string') return false
    return true
  }
  if (typeof value === 'string') return true
  if (!Array.isArray(value)) return false
  const first: unknown = value[0]
  if (typeof first === 'string') {
    for (const v of value as unknown[]) if (typeof v !== 'string') return false
    return true
  }
  for (const v of value as unknown[]) if (!Number.isSafeInteger(v)) return false
  return true
}

function fromIssue(error: z.ZodError): Error {
  const issue = error.issues[0]
  const param = issue?.path.map(String).join('.') ?? null
  const missing = issue?.code === 'invalid_type' && issue.input === undefined
  return invalidInput(
    missing ? `missing required field '${param}'` : (issue?.message ?? 'invalid body'),
    param,
  )
}

/** Characters of text in a JSON value (strings counted, token arrays counted × 4), bounded depth. */
function textLength(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length
  if (typeof value === 'number') return 4
  if (depth > 6 || value === null || typeof value !== 'object') return 0
  let n = 0
  for (const v of Array.isArray(value) ? value : Object.values(value)) n += textLength(v, depth + 1)
  return n
}

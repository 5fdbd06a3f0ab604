/**
 * `readRequest` (quick property checks first, the zod schemas for anything else) against the
 * schemas alone: the same facts for every body they accept, the same error for every body they
 * refuse.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ENDPOINTS, readRequest, validatedFacts, type EndpointPath } from './openai-request.ts'

/** What a call gives: its facts, or its error's message and param. */
function outcome(f: () => unknown): unknown {
  try {
    return { facts: f() }
  } catch (e) {
    const err = e as Error & { details?: unknown }
    return { error: err.message, details: err.details }
  }
}

const odd = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.constantFrom(0, -1, 1, 2.5, 16, 2 ** 53, Number.MAX_SAFE_INTEGER),
  fc.constantFrom('', 'x', 'llama-3.1-8b-instruct'),
  fc.constant([]),
  fc.constant({}),
)
const message = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ role: fc.constantFrom('user', 'system'), content: fc.string() }),
  },
  { weight: 1, arbitrary: fc.record({ role: odd, content: fc.string() }) },
  { weight: 1, arbitrary: odd },
)
const tokens = fc.array(fc.oneof(fc.integer({ min: -5, max: 50_000 }), fc.constant(1.5)), {
  maxLength: 4,
})
const input = fc.oneof(
  fc.string(),
  fc.array(fc.string(), { maxLength: 3 }),
  tokens,
  fc.array(tokens, { maxLength: 2 }),
  fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }),
  odd,
)
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 })
const body = fc.record(
  {
    model: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('llama-3.1-8b-instruct', 'm') }, odd),
    stream: maybe(fc.oneof(fc.boolean(), odd)),
    stream_options: maybe(
      fc.oneof(fc.record({ include_usage: maybe(fc.oneof(fc.boolean(), odd)) }), odd),
    ),
    max_tokens: maybe(fc.oneof(fc.integer({ min: -2, max: 4096 }), odd)),
    max_completion_tokens: maybe(fc.oneof(fc.integer({ min: -2, max: 4096 }), odd)),
    temperature: maybe(fc.double()),
    messages: maybe(fc.oneof({ weight: 5, arbitrary: fc.array(message, { maxLength: 3 }) }, odd)),
    prompt: maybe(input),
    input: maybe(input),
  },
  { requiredKeys: [] },
)
const endpoint = fc.constantFrom(...(Object.keys(ENDPOINTS) as EndpointPath[]))

describe('readRequest', () => {
  it('gives the schemas’ facts or error for any body', () => {
    fc.assert(
      fc.property(
        endpoint,
        fc.oneof({ weight: 9, arbitrary: body }, { weight: 1, arbitrary: odd }),
        (ep, b) => {
          expect(outcome(() => readRequest(ep, b))).toEqual(outcome(() => validatedFacts(ep, b)))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('reads the usual chat body', () => {
    expect(
      readRequest('/v1/chat/completions', {
        model: 'm',
        messages: [{ role: 'user', content: 'hello there' }],
        max_tokens: 16,
        stream: true,
        stream_options: { include_usage: true },
      }),
    ).toEqual({
      model: 'm',
      stream: true,
      clientWantsUsage: true,
      estimatedInputTokens: 4,
      maxTokens: 16,
    })
  })
})

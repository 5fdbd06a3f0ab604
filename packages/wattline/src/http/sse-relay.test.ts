import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSseRelay } from './sse-relay.ts'
import { createReferenceSseRelay } from './sse-relay.reference.test-support.ts'

const chunk = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`
const c1 = { id: 'x', model: 'up', choices: [{ index: 0, delta: { content: 'Hi' } }] }
const usageChunk = {
  id: 'x',
  model: 'up',
  choices: [],
  usage: { prompt_tokens: 5, completion_tokens: 3 },
}
const stream = chunk(c1) + chunk(usageChunk) + 'data: [DONE]\n\n'

describe('sse relay', () => {
  it('passes events through byte for byte, across arbitrary chunk splits', () => {
    for (const size of [1, 3, 7, 1000]) {
      const relay = createSseRelay({ clientWantsUsage: true })
      let out = ''
      const bytes = Buffer.from(': keepalive\n\n' + stream)
      for (let i = 0; i < bytes.length; i += size) out += relay.push(bytes.subarray(i, i + size))
      out += relay.end()
      expect(out).toBe(': keepalive\n\n' + stream)
      expect(relay.usage).toEqual({ prompt_tokens: 5, completion_tokens: 3 })
    }
  })

  it('drops the usage chunk the client did not ask for, but still reads it', () => {
    const relay = createSseRelay({ clientWantsUsage: false })
    const out = relay.push(Buffer.from(stream)) + relay.end()
    expect(out).toBe(chunk(c1) + 'data: [DONE]\n\n')
    expect(relay.usage?.completion_tokens).toBe(3)
  })

  it('annotates the usage chunk when the client asked, and maps the model back', () => {
    let first = 0
    const relay = createSseRelay({
      clientWantsUsage: true,
      modelBack: { from: 'up', to: 'client' },
      onFirstToken: () => (first += 1),
      annotate: (u) => ({ wattline: { energy_j: u.completion_tokens } }),
    })
    const out = relay.push(Buffer.from(stream))
    const events = out
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ''))
    expect(JSON.parse(events[0] ?? '')).toMatchObject({ model: 'client' })
    expect(JSON.parse(events[1] ?? '')).toMatchObject({
      model: 'client',
      wattline: { energy_j: 3 },
    })
    expect(events[2]).toBe('[DONE]')
    expect(first).toBe(1)
  })

  it('handles CRLF framing and multi-line data', () => {
    const relay = createSseRelay({ clientWantsUsage: false })
    const text =
      'data: {"choices":[],\r\ndata: "usage":{"prompt_tokens":1,"completion_tokens":2}}\r\n\r\n'
    expect(relay.push(Buffer.from(text))).toBe('')
    expect(relay.usage).toEqual({ prompt_tokens: 1, completion_tokens: 2 })
  })
})

describe('sse relay fast path', () => {
  // Events an upstream may send: plain data lines (with and without escapes, usage, error keys),
  // comments, named events, multi-line data, CRLF framing, [DONE], junk.
  const json = fc.oneof(
    fc.record({
      model: fc.constantFrom('up', 'other'),
      choices: fc.constantFrom([], [{ index: 0, delta: { content: 'a\nb' } }], [{ index: 0 }]),
    }),
    fc.record({
      choices: fc.constant([]),
      usage: fc.record({ prompt_tokens: fc.nat(50), completion_tokens: fc.nat(50) }),
    }),
    fc.record({ error: fc.record({ message: fc.string({ maxLength: 8 }) }) }),
    fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
  )
  const data = fc.oneof(
    json.map((o) => JSON.stringify(o)),
    // the same key spelled with an escape: the fast path must not skip it
    fc
      .nat(9)
      .map((n) => `{"choices":[],"\\u0075sage":{"prompt_tokens":${n},"completion_tokens":1}}`),
    fc.constantFrom('[DONE]', '', 'not json', '{"choices":[{"index":0}],"model":"up"}'),
    // text beyond ASCII, unescaped (multi-byte characters split across chunks)
    fc
      .string({ unit: 'grapheme', maxLength: 6 })
      .map((t) => JSON.stringify({ choices: [{ index: 0, delta: { content: t } }], model: 'up' })),
  )
  const block = fc.oneof(
    data.map((d) => `data: ${d}\n\n`),
    data.map((d) => `data:${d}\n\n`),
    data.map((d) => `data: ${d}\r\n\r\n`),
    data.map((d) => `event: chunk\ndata: ${d}\n\n`),
    data.map((d) => `data: ${d.slice(0, 3)}\ndata: ${d.slice(3)}\n\n`),
    fc.constantFrom(': keepalive\n\n', 'id: 7\n\n', 'retry: 10\n\n'),
  )
  const options = fc.record({
    clientWantsUsage: fc.boolean(),
    modelBack: fc.option(fc.constant({ from: 'up', to: 'client' }), { nil: undefined }),
  })

  // Bytes around and inside the stream: a byte order mark (at the start it is dropped, later it is
  // text), bytes that are no UTF-8 (each becomes U+FFFD), a character cut short.
  const odd = fc.constantFrom(
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from([0xff]),
    Buffer.from([0xc3]),
    Buffer.from([0xe2, 0x82]),
  )
  const inserts = fc.array(fc.tuple(fc.nat(400), odd), { maxLength: 3 })

  it('gives the same bytes, usage, first token and error flag as the reference relay', () => {
    fc.assert(
      fc.property(
        fc.array(block, { maxLength: 12 }),
        options,
        fc.integer({ min: 1, max: 64 }),
        inserts,
        (blocks, o, size, extra) => {
          const run = (make: typeof createSseRelay) => {
            let first = 0
            const relay = make({
              clientWantsUsage: o.clientWantsUsage,
              ...(o.modelBack === undefined ? {} : { modelBack: o.modelBack }),
              onFirstToken: () => (first += 1),
              annotate: (u) => ({ wattline: { tokens: u.completion_tokens } }),
            })
            let bytes = Buffer.from(blocks.join(''))
            for (const [at, ins] of extra) {
              const i = Math.min(at, bytes.length)
              bytes = Buffer.concat([bytes.subarray(0, i), ins, bytes.subarray(i)])
            }
            let out = ''
            for (let i = 0; i < bytes.length; i += size)
              out += relay.push(bytes.subarray(i, i + size))
            out += relay.end()
            return { out, usage: relay.usage, error: relay.upstreamError, first }
          }
          expect(run(createSseRelay)).toEqual(run(createReferenceSseRelay))
        },
      ),
      { numRuns: 1500 },
    )
  })
})

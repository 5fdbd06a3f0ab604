import { describe, expect, it } from 'vitest'
import { createSseRelay } from './sse-relay.ts'

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

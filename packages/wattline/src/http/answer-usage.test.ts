import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { NOT_AT_END, usageAtEnd } from './answer-usage.ts'
import { readUsage } from './sse-relay.ts'

/** What parsing the whole answer gives (the reference): its `usage`, undefined when not JSON. */
function whole(text: string): ReturnType<typeof readUsage> {
  try {
    return readUsage((JSON.parse(text) as Record<string, unknown>)['usage'])
  } catch {
    return undefined
  }
}

const usage = { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 }
const answer = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
}

describe('usageAtEnd', () => {
  it("reads the last member's usage as parsing the whole answer would, compact or indented", () => {
    for (const space of [undefined, 2, '\t']) {
      const text = JSON.stringify({ ...answer, usage }, null, space)
      expect(usageAtEnd(text)).toEqual({ prompt_tokens: 9, completion_tokens: 5 })
      expect(usageAtEnd(` \n${text}\n `)).toEqual(whole(text))
    }
    expect(usageAtEnd('{"usage":{"prompt_tokens":3}}')).toEqual({
      prompt_tokens: 3,
      completion_tokens: 0,
    })
    expect(usageAtEnd('{"usage":null}')).toBeUndefined()
    expect(usageAtEnd('{"a":1,"usage":{"prompt_tokens":"x"}}')).toBeUndefined()
  })

  it('leaves every other layout to the whole parse', () => {
    const notLast = JSON.stringify({ ...answer, usage, system_fingerprint: 'fp' })
    const nested = JSON.stringify({ ...answer, extra: { usage } })
    const nestedInUsage = JSON.stringify({ ...answer, usage: { usage } })
    const inArray = JSON.stringify([{ usage }])
    const escapedKey = '{"a\\"usage":{"prompt_tokens":1}}'
    const spacedKey = '{"a":1,"usage" :{"prompt_tokens":1}}'
    const garbageBefore = 'x,"usage":{"prompt_tokens":1}}'
    const truncated = JSON.stringify({ ...answer, usage }).slice(0, -1)
    const notAnObject = '"usage":{"prompt_tokens":1}}'
    for (const text of [
      notLast,
      nested,
      nestedInUsage,
      inArray,
      escapedKey,
      spacedKey,
      garbageBefore,
      truncated,
      notAnObject,
      JSON.stringify(answer),
      '',
      '{}',
    ])
      expect(usageAtEnd(text), text).toBe(NOT_AT_END)
  })

  it('never disagrees with the whole parse on a JSON answer (any members, any order, any text)', () => {
    const value = fc.jsonValue({ maxDepth: 3 })
    const members = fc.dictionary(
      fc.oneof(fc.constantFrom('usage', 'id', 'choices', 'model', 'u\\"sage'), fc.string()),
      value,
      { maxKeys: 6 },
    )
    const usageValue = fc.oneof(
      value,
      fc.record({ prompt_tokens: fc.integer(), completion_tokens: fc.integer() }),
      fc.record({ usage: fc.record({ prompt_tokens: fc.integer() }) }),
    )
    fc.assert(
      fc.property(
        members,
        usageValue,
        fc.boolean(),
        fc.constantFrom(undefined, 1, '  '),
        (m, u, last, space) => {
          const obj: Record<string, unknown> = last ? { ...m, usage: u } : { usage: u, ...m }
          const text = JSON.stringify(obj, null, space)
          const got = usageAtEnd(text)
          if (got !== NOT_AT_END) expect(got).toEqual(whole(text))
        },
      ),
      { numRuns: 3_000 },
    )
  })
})

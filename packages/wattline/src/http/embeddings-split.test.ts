import { describe, expect, it } from 'vitest'
import { callerAnswers, itemsOf, mergedCallError, splitAnswer } from './embeddings-split.ts'

describe('itemsOf', () => {
  it('cuts every embeddings input shape into items with input tokens', () => {
    expect(itemsOf('abcdefgh')).toEqual({ kind: 'text', items: ['abcdefgh'], tokens: 2 })
    expect(itemsOf(['a', 'bcdef'])).toEqual({ kind: 'text', items: ['a', 'bcdef'], tokens: 3 })
    expect(itemsOf([1, 2, 3])).toEqual({ kind: 'tokens', items: [[1, 2, 3]], tokens: 3 })
    expect(itemsOf([[1], [2, 3]])).toEqual({ kind: 'tokens', items: [[1], [2, 3]], tokens: 3 })
    expect(itemsOf([])).toBeUndefined()
    expect(itemsOf(['a', 1])).toBeUndefined()
    expect(itemsOf(undefined)).toBeUndefined()
  })
})

describe('splitAnswer', () => {
  const text = JSON.stringify({
    object: 'list',
    model: 'BAAI/bge',
    data: [
      { object: 'embedding', index: 2, embedding: [2] },
      { object: 'embedding', index: 0, embedding: [0] },
      { object: 'embedding', index: 1, embedding: [1] },
    ],
    usage: { prompt_tokens: 10, total_tokens: 10 },
  })

  it('orders by index when the server lists items out of order', () => {
    const s = splitAnswer(text, [1, 2], 3)
    expect(s.ok && s.parts.map((p) => p.map((i) => i['embedding']))).toEqual([[[0]], [[1], [2]]])
  })

  it('keeps the listed order when the indices are not exactly 0…n−1', () => {
    const dup = JSON.stringify({
      data: [
        { index: 0, e: 'a' },
        { index: 0, e: 'b' },
      ],
    })
    const s = splitAnswer(dup, [1, 1], 2)
    expect(s.ok && s.parts.map((p) => p.map((i) => i['e']))).toEqual([['a'], ['b']])
  })

  it('refuses what it cannot split', () => {
    expect(splitAnswer(text, [1, 3], 4)).toEqual({
      ok: false,
      why: 'the answer holds 3 embeddings for 4 inputs',
    })
    expect(splitAnswer('nope', [1], 1)).toEqual({ ok: false, why: 'the answer is not JSON' })
    expect(splitAnswer('[]', [1], 1)).toMatchObject({ ok: false })
    expect(splitAnswer('{"data": [1]}', [1], 1)).toMatchObject({ ok: false })
  })

  it('gives each caller its items from index 0, its whole usage share and the client model name', () => {
    const s = splitAnswer(text, [1, 2], 3)
    if (!s.ok) throw new Error(s.why)
    const own = callerAnswers(s, [1, 4], { from: 'BAAI/bge', to: 'embed' })
    expect(own.promptTokens).toEqual([2, 8])
    expect(own.bodies.map((b) => JSON.parse(b) as unknown)).toEqual([
      {
        object: 'list',
        model: 'embed',
        data: [{ object: 'embedding', index: 0, embedding: [0] }],
        usage: { prompt_tokens: 2, total_tokens: 2 },
      },
      {
        object: 'list',
        model: 'embed',
        data: [
          { object: 'embedding', index: 0, embedding: [1] },
          { object: 'embedding', index: 1, embedding: [2] },
        ],
        usage: { prompt_tokens: 8, total_tokens: 8 },
      },
    ])
  })
})

describe('mergedCallError', () => {
  it('maps a refusal to WL_INVALID_INPUT (429: WL_OVERLOADED) and a broken answer to 502', () => {
    const refusal = mergedCallError({
      status: 413,
      text: '{"error":{"message":"too big"}}',
      backend: 'a',
      callers: 3,
    })
    expect(refusal).toMatchObject({
      code: 'WL_INVALID_INPUT',
      details: { status: 413, param: 'input' },
    })
    expect(refusal.message).toBe(
      'the merged embeddings call (3 requests) to backend a was refused with status 413: too big',
    )
    expect(mergedCallError({ status: 429, backend: 'a', callers: 1 })).toMatchObject({
      code: 'WL_OVERLOADED',
    })
    expect(
      mergedCallError({ status: 502, why: 'the answer is not JSON', backend: 'a', callers: 2 }),
    ).toMatchObject({ code: 'WL_UPSTREAM_UNAVAILABLE', details: { status: 502 } })
  })
})

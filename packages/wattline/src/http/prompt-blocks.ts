/**
 * @module http/prompt-blocks
 * Prefix identity of a live request, for prefix-affinity routing: the prompt rendered canonically
 * (chat `messages` in order, or a completion's `prompt`), cut into fixed character blocks, each
 * block's id a chained hash (block i's id covers blocks 0..i, so two prompts share block i only
 * when they share everything up to its end, as a model server's KV cache requires). A
 * conversation's next turn repeats the previous turn's messages, so it shares their leading
 * blocks. Only whole blocks count: a server caches full blocks, and a trailing partial block would
 * never match the next turn's longer one anyway.
 *
 * The chain starts from the model name and the block size: one backend's cache holds each model
 * apart, and blocks of different sizes never collide.
 */
import { createHash } from 'node:crypto'
import { canonicalJson } from './response-cache.ts'

export interface PromptBlocks {
  /** Chained block ids (48-bit integers), one per whole block. */
  readonly blocks: readonly number[]
  /** Characters of the rendered prompt (whole blocks and the partial tail). */
  readonly chars: number
}

/**
 * The rendered prompt: each message as its role, its text (text parts in order; other parts and
 * fields as canonical JSON) and a separator; a `prompt` string as is, other prompt shapes (string
 * or token arrays) as canonical JSON. Undefined for a value that is neither.
 */
export function renderPrompt(prompt: unknown): string | undefined {
  if (typeof prompt === 'string') return prompt
  if (!Array.isArray(prompt)) return undefined
  if (!prompt.every((m) => m !== null && typeof m === 'object' && !Array.isArray(m))) {
    return canonicalJson(prompt)
  }
  let out = ''
  for (const m of prompt as Record<string, unknown>[]) {
    const { role, content, ...rest } = m
    out += `${String(role)}\n${contentText(content)}`
    if (Object.keys(rest).length > 0) out += `\n${canonicalJson(rest)}`
    out += '\u0000'
  }
  return out
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (content === undefined || content === null) return ''
  if (!Array.isArray(content)) return canonicalJson(content)
  let out = ''
  for (const part of content as unknown[]) {
    const p = part as Record<string, unknown> | null
    if (
      p !== null &&
      typeof p === 'object' &&
      p['type'] === 'text' &&
      typeof p['text'] === 'string'
    )
      out += p['text']
    else out += canonicalJson(part)
  }
  return out
}

/** The prompt's block ids for `model` with `blockChars` characters per block. */
export function promptBlocks(prompt: unknown, model: string, blockChars: number): PromptBlocks {
  const text = renderPrompt(prompt)
  if (text === undefined) return { blocks: [], chars: 0 }
  const whole = Math.floor(text.length / blockChars)
  const blocks: number[] = new Array<number>(whole)
  let previous = createHash('sha256')
    .update(`wattline-prefix\u0000${model}\u0000${blockChars}`)
    .digest()
  for (let i = 0; i < whole; i++) {
    previous = createHash('sha256')
      .update(previous)
      .update(text.slice(i * blockChars, (i + 1) * blockChars))
      .digest()
    blocks[i] = previous.readUIntBE(0, 6)
  }
  return { blocks, chars: text.length }
}

/**
 * Prompt tokens a backend holding `matchedBlocks` leading blocks need not prefill: the matched
 * share of the prompt's characters applied to its tokens (one token always runs).
 */
export function skippedPromptTokens(
  inputTokens: number,
  matchedBlocks: number,
  blockChars: number,
  promptChars: number,
): number {
  if (matchedBlocks <= 0 || promptChars <= 0 || inputTokens <= 1) return 0
  const share = Math.min(1, (matchedBlocks * blockChars) / promptChars)
  return Math.max(0, Math.min(inputTokens - 1, Math.round(inputTokens * share)))
}

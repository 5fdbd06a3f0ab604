/**
 * Test support: the relay as it was before its fast path (every block through eventsource-parser
 * and JSON.parse), frozen as the reference the differential test compares the live relay with.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import type { SseRelay, SseRelayOptions, StreamUsage } from './sse-relay.ts'

const TERMINATOR = /\r\n\r\n|\n\n|\r\r/

/** The pre-fast-path relay. */
export function createReferenceSseRelay(options: SseRelayOptions): SseRelay {
  const decoder = new TextDecoder()
  let pending = ''
  let usage: StreamUsage | undefined
  let firstSeen = false
  let upstreamError = false
  let parsed: EventSourceMessage[] = []
  const parser = createParser({
    onEvent: (e) => {
      parsed.push(e)
    },
  })

  function handleBlock(block: string): string {
    parsed = []
    parser.feed(block)
    if (parsed.length !== 1) return block
    const event = parsed[0] as EventSourceMessage
    if (event.data === '[DONE]' || event.data === '') return block
    let json: unknown
    try {
      json = JSON.parse(event.data)
    } catch {
      return block
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return block
    const obj = json as Record<string, unknown>
    if ('error' in obj) upstreamError = true
    const choices = Array.isArray(obj['choices']) ? obj['choices'] : []
    if (!firstSeen && choices.length > 0) {
      firstSeen = true
      options.onFirstToken?.()
    }
    let changed = false
    const u = readUsage(obj['usage'])
    if (u !== undefined) {
      usage = u
      if (!options.clientWantsUsage) {
        if (choices.length === 0) return ''
        delete obj['usage']
        changed = true
      } else if (choices.length === 0 && options.annotate !== undefined) {
        Object.assign(obj, options.annotate(u))
        changed = true
      }
    }
    if (options.modelBack !== undefined && obj['model'] === options.modelBack.from) {
      obj['model'] = options.modelBack.to
      changed = true
    }
    if (!changed) return block
    const prefix = event.event === undefined ? '' : `event: ${event.event}\n`
    return `${prefix}data: ${JSON.stringify(obj)}\n\n`
  }

  return {
    push(chunk) {
      pending += decoder.decode(chunk, { stream: true })
      let out = ''
      for (;;) {
        const m = TERMINATOR.exec(pending)
        if (m === null) break
        const end = m.index + m[0].length
        out += handleBlock(pending.slice(0, end))
        pending = pending.slice(end)
      }
      return out
    },
    end() {
      pending += decoder.decode()
      const rest = pending
      pending = ''
      return rest === '' ? '' : handleBlock(rest)
    },
    get usage() {
      return usage
    },
    get upstreamError() {
      return upstreamError
    },
  }
}

function readUsage(value: unknown): StreamUsage | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  const p = v['prompt_tokens']
  const c = v['completion_tokens'] ?? 0
  if (typeof p !== 'number' || typeof c !== 'number') return undefined
  return { prompt_tokens: p, completion_tokens: c }
}

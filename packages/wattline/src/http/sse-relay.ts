/**
 * @module http/sse-relay
 * Passes an upstream's SSE stream to the client event by event, unchanged, while reading a parsed
 * copy (eventsource-parser) for accounting: the time of the first token and the final `usage`.
 *
 * Only three things change bytes: the usage-only chunk the gateway asked for on the client's behalf
 * (`stream_options.include_usage`) is dropped when the client did not ask for it; when the client did
 * ask, that chunk gains a `wattline` object with the request's energy and carbon; and `model` is
 * mapped back when the backend uses another name for the model.
 */
import { isAscii } from 'node:buffer'
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser'

export interface StreamUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
}

export interface SseRelayOptions {
  /** The client asked for `stream_options.include_usage`. */
  readonly clientWantsUsage: boolean
  /** Upstream model name → client model name, when they differ. */
  readonly modelBack?: { readonly from: string; readonly to: string } | undefined
  /** Called once, when the first chunk with choices arrives (as a method of the options). */
  onFirstToken?(): void
  /**
   * Called when the usage chunk arrives (as a method of the options); returns the fields to add to
   * it (client asked for usage).
   */
  annotate?(usage: StreamUsage): Record<string, unknown>
}

export interface SseRelay {
  /** Feeds upstream bytes; returns what to write to the client now. */
  push(chunk: Buffer): string
  /** Ends the stream; returns any trailing bytes (an unterminated last event). */
  end(): string
  readonly usage: StreamUsage | undefined
  /** An `error` object the upstream sent in the stream, if any. */
  readonly upstreamError: boolean
}

const TERMINATOR = /\r\n\r\n|\n\n|\r\r/

/** Creates a relay for one stream. */
export function createSseRelay(options: SseRelayOptions): SseRelay {
  return new Relay(options)
}

/**
 * One stream's relay. A class, so a stream allocates its state and nothing else: its methods are
 * shared (closures made per stream would each be re-named by tsx's `keepNames`, ≈ 1 µs apiece),
 * and the event parser is made only for a stream that sends a block it needs (multi-line data,
 * `event:` fields, CRs).
 */
class Relay implements SseRelay {
  readonly #options: SseRelayOptions
  /** Made at the first chunk that is not plain ASCII (see `#decode`). */
  #decoder: TextDecoder | undefined = undefined
  /** Some bytes were decoded already (a BOM after them is text, not a byte order mark). */
  #started = false
  #pending = ''
  #usage: StreamUsage | undefined
  #firstSeen = false
  #upstreamError = false
  #parsed: EventSourceMessage[] = []
  #parser: EventSourceParser | undefined

  constructor(options: SseRelayOptions) {
    this.#options = options
  }

  get usage(): StreamUsage | undefined {
    return this.#usage
  }

  get upstreamError(): boolean {
    return this.#upstreamError
  }

  push(chunk: Buffer): string {
    const text = this.#pending + this.#decode(chunk)
    // Blocks passed through unchanged (most) are not copied one by one: `out` gets the run of
    // text up to a changed block, then that block's replacement.
    let out = ''
    let copied = 0
    let start = 0
    const crlf = text.includes('\r', start)
    const marks = new Marks(text)
    for (;;) {
      let end: number
      if (!crlf) {
        // No CR anywhere: the terminator can only be LF LF.
        const at = text.indexOf('\n\n', start)
        if (at < 0) break
        end = at + 2
      } else {
        TERMINATOR_FROM.lastIndex = start
        const m = TERMINATOR_FROM.exec(text)
        if (m === null) break
        end = m.index + m[0].length
      }
      const block = text.slice(start, end)
      const r = this.#handleBlock(block, marks, start)
      if (r !== block) {
        out += text.slice(copied, start) + r
        copied = end
      }
      start = end
    }
    if (copied === 0 && start === text.length) out = text
    else if (copied < start) out += text.slice(copied, start)
    this.#pending = start === 0 ? text : text.slice(start)
    return out
  }

  end(): string {
    if (this.#decoder !== undefined) this.#pending += this.#decoder.decode()
    const rest = this.#pending
    this.#pending = ''
    return rest === '' ? '' : this.#handleBlock(rest, undefined, 0)
  }

  /**
   * The chunk as text, as one streaming `TextDecoder` over the whole stream decodes it. A chunk of
   * plain ASCII (the usual SSE chunk: JSON escapes non-ASCII or the model wrote none) is its bytes
   * as they are, while no multi-byte character is left half-decoded: read directly, without the
   * decoder's per-call set-up (≈ 2–3 µs per chunk). The decoder is made at the first chunk that is
   * not plain ASCII; made after the start of the stream it keeps a BOM as text, as the one decoder
   * would have after the first character.
   */
  #decode(chunk: Buffer): string {
    if (this.#decoder === undefined) {
      if (chunk.length === 0) return ''
      if (isAscii(chunk)) {
        this.#started = true
        return chunk.toString('latin1')
      }
      this.#decoder = new TextDecoder('utf-8', { ignoreBOM: this.#started })
    }
    return this.#decoder.decode(chunk, STREAMING)
  }

  /**
   * What to write for one event block. `marks`/`at`: the chunk text the block starts at `at` in
   * (undefined when the block is not a slice of it), to tell from the chunk's escape, usage and
   * error marks whether it may matter.
   */
  #handleBlock(block: string, marks: Marks | undefined, at: number): string {
    const options = this.#options
    let data: string
    let eventName: string | undefined
    const plain = isPlainDataBlock(block)
    if (plain) {
      // `data: X\n\n` with one line: the event's data is X (what the parser would give, without
      // feeding it; such a block leaves no parser state behind).
      data = block.slice(6, -2)
    } else {
      this.#parsed = []
      // Made once per stream, and only for a stream that needs it.
      this.#parser ??= createParser({
        onEvent: (e) => {
          this.#parsed.push(e)
        },
      })
      this.#parser.feed(block)
      if (this.#parsed.length !== 1) return block
      const event = this.#parsed[0] as EventSourceMessage
      data = event.data
      eventName = event.event
    }
    if (data === '[DONE]' || data === '') return block
    if (
      this.#firstSeen &&
      options.modelBack === undefined &&
      (plain && marks !== undefined
        ? !marks.within(at + 6, at + block.length - 2)
        : cannotMatter(data))
    )
      return block
    let json: unknown
    try {
      json = JSON.parse(data)
    } catch {
      return block
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return block
    const obj = json as Record<string, unknown>
    if ('error' in obj) this.#upstreamError = true
    const choices = Array.isArray(obj['choices']) ? obj['choices'] : []
    if (!this.#firstSeen && choices.length > 0) {
      this.#firstSeen = true
      options.onFirstToken?.()
    }
    let changed = false
    const u = readUsage(obj['usage'])
    if (u !== undefined) {
      this.#usage = u
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
    const prefix = eventName === undefined ? '' : `event: ${eventName}\n`
    return `${prefix}data: ${JSON.stringify(obj)}\n\n`
  }
}

const STREAMING = Object.freeze({ stream: true })

/** The terminator searched from `lastIndex` (the same alternatives, in the same order). */
const TERMINATOR_FROM = new RegExp(TERMINATOR.source, 'g')

/**
 * Where the next escape (`\`), `"usage"` and `"error"` are in a chunk's text: whether a range
 * holds one is `cannotMatter`'s question for the data in it, answered with one forward scan per
 * mark over the whole chunk instead of three scans per block. Ranges are asked in order.
 */
class Marks {
  readonly #text: string
  #escape = -1
  #usage = -1
  #error = -1

  constructor(text: string) {
    this.#text = text
  }

  /** True when one of the marks lies wholly in `text[from, to)`. */
  within(from: number, to: number): boolean {
    if (this.#escape < from && this.#escape !== Infinity) this.#escape = this.#next('\\', from)
    if (this.#usage < from && this.#usage !== Infinity) this.#usage = this.#next('"usage"', from)
    if (this.#error < from && this.#error !== Infinity) this.#error = this.#next('"error"', from)
    return this.#escape + 1 <= to || this.#usage + 7 <= to || this.#error + 7 <= to
  }

  #next(mark: string, from: number): number {
    const i = this.#text.indexOf(mark, from)
    return i < 0 ? Infinity : i
  }
}

/** True for `data: …\n\n` with a single LF-terminated line and no CR. */
function isPlainDataBlock(block: string): boolean {
  return (
    block.startsWith('data: ') &&
    block.endsWith('\n\n') &&
    block.indexOf('\n') === block.length - 2 &&
    !block.includes('\r')
  )
}

/**
 * True when parsing `data` could change nothing once the first token was seen: no `"usage"` or
 * `"error"` key can be in it (no backslash, so no key spelled with escapes either). The block then
 * passes through as it is, which is what the full path would return for it.
 */
function cannotMatter(data: string): boolean {
  return !data.includes('\\') && !data.includes('"usage"') && !data.includes('"error"')
}

/** Reads an OpenAI `usage` object; `undefined` when absent or malformed. */
export function readUsage(value: unknown): StreamUsage | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  const p = v['prompt_tokens']
  const c = v['completion_tokens'] ?? 0
  if (typeof p !== 'number' || typeof c !== 'number') return undefined
  return { prompt_tokens: p, completion_tokens: c }
}

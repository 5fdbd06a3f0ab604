/**
 * @module adapters/storage/ledger-writer-thread
 * The `ChainBackend` that runs the chain writer in a worker thread (`writer: 'worker'`): the calling
 * thread posts each batch (structured clone of the records, one message per flush) and awaits the
 * thread's count of rows and blocks written, so stats and metrics stay on the calling thread.
 *
 * - A large batch is posted in slices of `POST_SLICE_ROWS` records with a turn of the event loop
 *   between them, so cloning it never stalls the calling thread for long (≈ 2 µs per request
 *   record here: a 2,000-row batch would otherwise stall it ≈ 4 ms at once).
 * - One batch in flight at a time (the buffering half waits for each reply); while the thread is
 *   busy, rows buffer on the calling thread, bounded, and overflow is counted as dropped there.
 * - The thread is unref'd while idle (it never keeps a process alive) and ref'd while a batch or
 *   `close` is outstanding.
 * - A thread that dies (uncaught error, `process.exit`, killed) rejects the batch in flight with
 *   `WL_LEDGER_WRITE` (the buffering half re-buffers it), is reported through `onCrash` (a metric
 *   and a log line in `openLedger`), and is started again for the next write, no sooner than
 *   `respawnDelayMs` after the crash (at once for a draining or `writeNow` write). The new thread
 *   resumes from the chain's tail in the database. A thread killed after its transaction committed
 *   but before its reply would have its batch written again on retry (duplicate rows, chain
 *   intact): never a loss.
 * - `close` asks the thread to close its connection and end; one that does not end within
 *   `closeTimeoutMs` is terminated and `close` rejects.
 */
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Worker } from 'node:worker_threads'
import {
  WattlineError,
  ERROR_CODES,
  type AuditRecord,
  type ErrorCode,
  type QuarantineRecord,
} from '@wattline/core'
import type { ChainWriteResult, OpenBlockState } from './ledger-chain-writer.ts'
import type { ChainBackend } from './ledger-writer.ts'
import type {
  ErrorData,
  LedgerWorkerData,
  LedgerWorkerReply,
  LedgerWorkerRequest,
} from './ledger-worker.ts'

/** The worker's boot script (registers tsx, then imports the entry module). */
const BOOT_URL = new URL('./ledger-worker-boot.mjs', import.meta.url)
/** Records per message when a batch is posted in slices. */
export const POST_SLICE_ROWS = 256
/** The real entry module. */
export const LEDGER_WORKER_ENTRY = new URL('./ledger-worker-main.ts', import.meta.url)

/**
 * The thread's start data (`url`: `sqlite::memory:` cannot be shared with a thread) and how this
 * side runs it.
 */
export interface ChainWorkerOptions extends Pick<
  LedgerWorkerData,
  'url' | 'baseDir' | 'signingKeyPath' | 'keyId' | 'blockRows' | 'blockMaxAgeMs'
> {
  /** Wall clock, epoch ms (start of the open block's age); the respawn delay runs on a monotonic clock. */
  readonly now: () => number
  /** Called once per thread that died unexpectedly. */
  readonly onCrash?: (error: WattlineError) => void
  /** Called when the thread quarantined rows of the tail it could not vouch for. */
  readonly onQuarantine?: (record: QuarantineRecord) => void
  /** Least time between a crash and the next start, ms of monotonic time (default 1000). */
  readonly respawnDelayMs?: number
  /** How long `close` waits for the thread to end before terminating it, ms (default 10,000). */
  readonly closeTimeoutMs?: number
  /** Entry module of the thread (default `LEDGER_WORKER_ENTRY`; tests substitute faulty ones). */
  readonly entry?: URL
}

interface Pending {
  resolve(result: ChainWriteResult): void
  reject(error: Error): void
}

/** Starts the ledger worker thread; resolves once it has resumed the chain. */
export async function startChainWorker(options: ChainWorkerOptions): Promise<ChainBackend> {
  const respawnDelayMs = options.respawnDelayMs ?? 1000
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000
  let worker: Worker | null = null
  let starting: Promise<Worker> | null = null
  let state: OpenBlockState = { openRows: 0, openedAtMs: options.now() }
  const pending = new Map<number, Pending>()
  let nextId = 1
  let crashedAtMs = Number.NEGATIVE_INFINITY
  let lastCrash: WattlineError | null = null
  let closing = false

  const settle = (w: Worker, id: number): Pending | undefined => {
    const p = pending.get(id)
    pending.delete(id)
    if (pending.size === 0) w.unref()
    return p
  }

  function spawn(): Promise<Worker> {
    const data: LedgerWorkerData = {
      entry: (options.entry ?? LEDGER_WORKER_ENTRY).href,
      url: options.url,
      baseDir: options.baseDir,
      signingKeyPath: options.signingKeyPath,
      keyId: options.keyId,
      blockRows: options.blockRows,
      blockMaxAgeMs: options.blockMaxAgeMs,
      atMs: options.now(),
    }
    const w = new Worker(BOOT_URL, { workerData: data, execArgv: [] })
    return new Promise<Worker>((resolve, reject) => {
      let started = false
      let thrown: unknown = undefined
      w.on('message', (reply: LedgerWorkerReply) => {
        switch (reply.type) {
          case 'ready':
            started = true
            state = reply.state
            worker = w
            w.unref()
            resolve(w)
            return
          case 'start-failed':
            reject(fromData(reply.error, 'the ledger writer thread could not start'))
            return
          case 'written':
            state = { openRows: reply.result.openRows, openedAtMs: reply.result.openedAtMs }
            settle(w, reply.id)?.resolve(reply.result)
            return
          case 'write-failed':
            settle(w, reply.id)?.reject(fromData(reply.error, 'ledger write failed'))
            return
          case 'quarantined':
            options.onQuarantine?.(reply.record)
            return
          case 'closed':
            return
        }
      })
      w.on('error', (error) => {
        thrown = error // an uncaught exception in the thread; 'exit' follows
      })
      w.on('exit', (code) => {
        if (worker === w) worker = null
        if (!started) {
          reject(
            new WattlineError(
              'WL_LEDGER_WRITE',
              `the ledger writer thread ended while starting (exit code ${code})${describe(thrown)}`,
              { cause: thrown },
            ),
          )
          return
        }
        if (closing && pending.size === 0) return
        const error = new WattlineError(
          'WL_LEDGER_WRITE',
          `the ledger writer thread stopped unexpectedly (exit code ${code})${describe(thrown)}; ` +
            `${pending.size} batch(es) in flight are re-buffered and the thread restarts`,
          { cause: thrown },
        )
        crashedAtMs = performance.now()
        lastCrash = error
        for (const p of pending.values()) p.reject(error)
        pending.clear()
        options.onCrash?.(error)
      })
    })
  }

  async function live(urgent: boolean): Promise<Worker> {
    if (worker !== null) return worker
    if (lastCrash !== null && !urgent && performance.now() - crashedAtMs < respawnDelayMs) {
      throw lastCrash
    }
    starting ??= spawn().finally(() => {
      starting = null
    })
    return starting
  }

  await live(true)

  return {
    state: () => state,
    async write(records: readonly AuditRecord[], sealAll: boolean, atMs: number) {
      const w = await live(sealAll)
      const id = nextId
      nextId += 1
      return new Promise<ChainWriteResult>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        w.ref()
        postSliced(w, id, records, sealAll, atMs).catch((error: unknown) => {
          // not cloneable (never for ledger records), or the thread died meanwhile
          if (settle(w, id) !== undefined) reject(error as Error)
        })
      })
    },
    async close() {
      closing = true
      if (starting !== null) await starting.catch(() => undefined)
      const w = worker
      if (w === null) return
      w.ref()
      const ended = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          void w.terminate()
          resolve(false)
        }, closeTimeoutMs)
        w.once('exit', () => {
          clearTimeout(timer)
          resolve(true)
        })
        w.postMessage({ type: 'close' } satisfies LedgerWorkerRequest)
      })
      if (!ended) {
        throw new WattlineError(
          'WL_LEDGER_WRITE',
          `the ledger writer thread did not close its connection within ${closeTimeoutMs} ms and was terminated`,
        )
      }
    },
  }
}

/** Posts a batch: leading slices as `rows`, a turn of the loop between them, the rest as `write`. */
async function postSliced(
  w: Worker,
  id: number,
  records: readonly AuditRecord[],
  sealAll: boolean,
  atMs: number,
): Promise<void> {
  let from = 0
  for (; records.length - from > POST_SLICE_ROWS; from += POST_SLICE_ROWS) {
    const slice = records.slice(from, from + POST_SLICE_ROWS)
    w.postMessage({ type: 'rows', records: slice } satisfies LedgerWorkerRequest)
    await nextTurn()
  }
  const last = from === 0 ? records : records.slice(from)
  w.postMessage({ type: 'write', id, records: last, sealAll, atMs } satisfies LedgerWorkerRequest)
}

function describe(thrown: unknown): string {
  return thrown === undefined
    ? ''
    : `: ${thrown instanceof Error ? thrown.message : String(thrown)}`
}

/** An error posted by the thread, as a `WattlineError` with its code (WL_LEDGER_WRITE by default). */
function fromData(data: ErrorData, context: string): WattlineError {
  const code: ErrorCode = (ERROR_CODES as readonly string[]).includes(data.code ?? '')
    ? (data.code as ErrorCode)
    : 'WL_LEDGER_WRITE'
  const message = data.name === 'WattlineError' ? data.message : `${context}: ${data.message}`
  const error = new WattlineError(code, message, { details: { thread: 'ledger-writer' } })
  if (data.stack !== undefined) error.stack = data.stack
  return error
}

/**
 * @module adapters/storage/ledger-worker
 * The ledger worker thread's side of the writer (`writer: 'worker'`): it owns its own connection to
 * the ledger and the chain and signing state, and runs the same chain writer as the in-process
 * mode (`ledger-chain-writer.ts`) on batches posted by the gateway's thread. The gateway's event
 * loop then only appends to an array and posts one message per flush.
 *
 * Protocol (`LedgerWorkerRequest` in, `LedgerWorkerReply` out), one batch at a time:
 * start → `ready` (or `start-failed`, then the thread ends); `write` → `written` | `write-failed`;
 * `close` → the connection is closed, `closed`, and the thread ends (nothing keeps it alive).
 * Records travel by structured clone, so they arrive exactly as appended (NaN, -0, `undefined`
 * members included) and chain to the same bytes as in process.
 */
import type { MessagePort } from 'node:worker_threads'
import type { AuditRecord, LedgerStore, QuarantineRecord } from '@wattline/core'
import {
  startChainWriter,
  type ChainWriter,
  type ChainWriteResult,
  type OpenBlockState,
} from './ledger-chain-writer.ts'
import { KyselyLedgerStore } from './kysely-ledger-store.ts'
import { openDatabase } from './open-database.ts'
import { loadOrCreateSigningKey, sha256Hex } from './signing-key.ts'

/** What the thread starts from (`workerData`). */
export interface LedgerWorkerData {
  /** Module URL the boot script imports (`ledger-worker-main.ts`, or a test's substitute). */
  readonly entry: string
  /** Ledger URL (already migrated by the opener). */
  readonly url: string
  /** Folder relative SQLite paths resolve against. */
  readonly baseDir: string
  /** Absolute path of the Ed25519 private key (already created by the opener). */
  readonly signingKeyPath: string
  /** Key id the opener loaded: the thread refuses to sign with another key. */
  readonly keyId: string
  readonly blockRows: number
  readonly blockMaxAgeMs: number
  /** Epoch ms the open block's age starts from. */
  readonly atMs: number
}

/** An error as data (errors cross the thread boundary by value). */
export interface ErrorData {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly stack?: string
}

export type LedgerWorkerRequest =
  /** The first records of the next `write`, posted ahead in slices (see `POST_SLICE_ROWS`). */
  | { readonly type: 'rows'; readonly records: readonly AuditRecord[] }
  | {
      readonly type: 'write'
      readonly id: number
      /** The batch's last records (after any posted by `rows` messages since the last write). */
      readonly records: readonly AuditRecord[]
      readonly sealAll: boolean
      readonly atMs: number
    }
  | { readonly type: 'close' }

export type LedgerWorkerReply =
  | { readonly type: 'ready'; readonly state: OpenBlockState }
  | { readonly type: 'start-failed'; readonly error: ErrorData }
  | { readonly type: 'written'; readonly id: number; readonly result: ChainWriteResult }
  | { readonly type: 'write-failed'; readonly id: number; readonly error: ErrorData }
  | { readonly type: 'closed' }
  /** The thread quarantined rows of the tail (on start or after re-reading it). */
  | { readonly type: 'quarantined'; readonly record: QuarantineRecord }

/** `error` as data for `postMessage`. */
export function errorData(error: unknown): ErrorData {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  }
}

export interface ServeLedgerWorkerHooks {
  /** Wraps the thread's store (tests inject faults here). */
  readonly wrapStore?: (store: LedgerStore) => LedgerStore
}

/** Serves the writer protocol on `port` until `close`. */
export async function serveLedgerWorker(
  port: MessagePort,
  data: LedgerWorkerData,
  hooks: ServeLedgerWorkerHooks = {},
): Promise<void> {
  let store: LedgerStore | undefined
  let chain: ChainWriter
  try {
    const signer = await loadOrCreateSigningKey(data.signingKeyPath)
    if (signer.keyId !== data.keyId) {
      throw new Error(
        `${data.signingKeyPath} now holds key ${signer.keyId}, not the ${data.keyId} the ledger was opened with`,
      )
    }
    const opened = new KyselyLedgerStore(await openDatabase(data.url, { baseDir: data.baseDir }))
    store = hooks.wrapStore?.(opened) ?? opened
    chain = await startChainWriter(
      {
        store,
        signer,
        hash: sha256Hex,
        // the opener reports it (onError), as the in-process writer does
        onQuarantine: (record) => post(port, { type: 'quarantined', record }),
      },
      { blockRows: data.blockRows, blockMaxAgeMs: data.blockMaxAgeMs },
      data.atMs,
    )
  } catch (error) {
    await store?.close().catch(() => undefined)
    post(port, { type: 'start-failed', error: errorData(error) })
    port.close()
    return
  }
  const writer = chain
  const owned = store
  let queue: Promise<void> = Promise.resolve()
  let staged: AuditRecord[] = []
  port.on('message', (message: LedgerWorkerRequest) => {
    if (message.type === 'rows') {
      for (const record of message.records) staged.push(record)
      return
    }
    queue = queue.then(async () => {
      if (message.type === 'write') {
        const records = staged.length === 0 ? message.records : [...staged, ...message.records]
        staged = []
        try {
          const result = await writer.write(records, message.sealAll, message.atMs)
          post(port, { type: 'written', id: message.id, result })
        } catch (error) {
          post(port, { type: 'write-failed', id: message.id, error: errorData(error) })
        }
        return
      }
      try {
        await owned.close()
      } finally {
        post(port, { type: 'closed' })
        port.close()
      }
    })
  })
  post(port, { type: 'ready', state: writer.state() })
}

function post(port: MessagePort, reply: LedgerWorkerReply): void {
  port.postMessage(reply)
}

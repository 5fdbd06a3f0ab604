/**
 * @module adapters/storage/ledger-worker-main
 * Entry module of the ledger worker thread (loaded by `ledger-worker-boot.mjs`). The thread first
 * lowers its own scheduling priority below the event loop that posts its batches
 * (`ledger-worker-priority.ts`), then serves the writer protocol.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { serveLedgerWorker, type LedgerWorkerData } from './ledger-worker.ts'
import { lowerThisThreadPriority } from './ledger-worker-priority.ts'

if (parentPort === null) throw new Error('ledger-worker-main.ts runs only as a worker thread')
lowerThisThreadPriority()
await serveLedgerWorker(parentPort, workerData as LedgerWorkerData)

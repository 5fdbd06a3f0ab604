/**
 * @module adapters/storage/ledger-worker-main
 * Entry module of the ledger worker thread (loaded by `ledger-worker-boot.mjs`).
 */
import { parentPort, workerData } from 'node:worker_threads'
import { serveLedgerWorker, type LedgerWorkerData } from './ledger-worker.ts'

if (parentPort === null) throw new Error('ledger-worker-main.ts runs only as a worker thread')
await serveLedgerWorker(parentPort, workerData as LedgerWorkerData)

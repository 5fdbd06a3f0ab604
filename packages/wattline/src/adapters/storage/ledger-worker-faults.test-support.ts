/**
 * Test support: a ledger writer thread entry that serves the real protocol over a store with
 * injected faults, read from `<baseDir>/faults.json` at every append (so a test can change them
 * while the thread runs):
 * - `delayMs`: each append waits this long first (a lagging database);
 * - `crash`: the next append kills the thread with an uncaught error (the file is removed first,
 *   so the restarted thread writes normally).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import type { LedgerStore } from '@wattline/core'
import { serveLedgerWorker, type LedgerWorkerData } from './ledger-worker.ts'

interface Faults {
  readonly delayMs?: number
  readonly crash?: boolean
}

const data = workerData as LedgerWorkerData
const faultsPath = join(data.baseDir, 'faults.json')

function faults(): Faults {
  return existsSync(faultsPath) ? (JSON.parse(readFileSync(faultsPath, 'utf8')) as Faults) : {}
}

function faulty(store: LedgerStore): LedgerStore {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver)
      if (key !== 'append' || typeof value !== 'function') {
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value
      }
      return async (...args: unknown[]) => {
        const f = faults()
        if (f.crash === true) {
          rmSync(faultsPath)
          setImmediate(() => {
            throw new Error('injected ledger writer crash')
          })
          return new Promise(() => undefined) // never settles: the thread dies first
        }
        if (f.delayMs !== undefined) await new Promise((r) => setTimeout(r, f.delayMs))
        return (value as (...a: unknown[]) => Promise<void>).apply(target, args)
      }
    },
  })
}

if (parentPort === null) throw new Error('a worker thread entry')
await serveLedgerWorker(parentPort, data, { wrapStore: faulty })

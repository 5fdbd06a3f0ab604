// Boot script of the ledger worker thread. The sources are TypeScript run through tsx (as in
// bin/wattline.mjs), and a worker thread does not inherit the loader hooks of the thread that
// started it, and `execArgv: ['--import', 'tsx']` failed here for a .ts entry on Node 20.20
// ("Unknown file extension .ts") and would resolve tsx from the working directory anyway.
// So: register tsx here (resolved from this file, whatever the working directory), then import the
// entry module named in workerData.
import { register } from 'tsx/esm/api'
import { workerData } from 'node:worker_threads'

register()
await import(workerData.entry)

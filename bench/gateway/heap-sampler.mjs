/**
 * Preloaded (`--import`) into the process under test by bench/gateway/alloc-profile.ts: the first
 * SIGUSR2 starts V8's sampling heap profiler, counting objects the GC has already collected too
 * (what a request allocates, not what it keeps); the second stops it and writes the profile to
 * `$HEAP_OUT`, each TypeScript frame's line mapped back through its source map (run with
 * `--enable-source-maps`; tsx emits one-line code, so unmapped lines all read 1). With
 * `HEAP_LIVE=1` it counts only what is still alive when it stops: what a collection must keep.
 */
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'
import { findSourceMap } from 'node:module'

const session = new Session()
session.connect()
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))),
  )

function mapFrames(node) {
  const cf = node.callFrame
  if (cf.url.startsWith('file://') && cf.url.endsWith('.ts')) {
    try {
      const entry = findSourceMap(cf.url)?.findEntry(cf.lineNumber, cf.columnNumber)
      if (entry?.originalLine !== undefined) {
        cf.lineNumber = entry.originalLine
        cf.columnNumber = entry.originalColumn
      }
    } catch {
      // no source map: keep the generated position
    }
  }
  for (const c of node.children ?? []) mapFrames(c)
}

let sampling = false
process.on('SIGUSR2', () => {
  void (async () => {
    if (!sampling) {
      sampling = true
      await post('HeapProfiler.enable')
      await post('HeapProfiler.startSampling', {
        samplingInterval: Number(process.env.HEAP_INTERVAL ?? 256),
        // HEAP_LIVE=1: only what is still alive when sampling stops (what a collection must keep)
        includeObjectsCollectedByMinorGC: process.env.HEAP_LIVE !== '1',
        includeObjectsCollectedByMajorGC: process.env.HEAP_LIVE !== '1',
      })
      process.stderr.write('heap sampling started\n')
      return
    }
    const { profile } = await post('HeapProfiler.stopSampling')
    mapFrames(profile.head)
    writeFileSync(process.env.HEAP_OUT, JSON.stringify(profile))
    process.stderr.write('heap sampling written\n')
  })()
})

/**
 * `npm run bench:attribution`: the cost of the live energy attributor (core's
 * `createLiveAttribution`, one per backend in the gateway) per request — its `start` and `end`,
 * with a steady number of requests in flight — against the frozen O(n) version it replaced
 * (`energy/reference/live-attribution.test-support.ts`), side by side in one run. The old one
 * walked every request in flight at every event; the new one keeps running totals per profile and
 * phase, so its cost should not grow with the number in flight. A real backend (vLLM, SGLang) runs
 * hundreds of sequences at once.
 *
 * Each request prefills a 500-token prompt, then decodes; the clock moves 10 µs per event.
 * Options: --inflight 8,32,256,1024 (the in-flight counts), --requests N (per count and version,
 * default 200,000), --rounds R (default 3; the median of the rounds is printed).
 */
import { parseArgs } from 'node:util'
import { createLiveAttribution, type LiveAttribution, type LiveMark } from '@wattline/core'
import { testProfile } from '../packages/core/src/routing/test-profile.ts'
import { createReferenceLiveAttribution } from '../packages/core/src/energy/reference/live-attribution.test-support.ts'
import { median } from './median.ts'

const { values: args } = parseArgs({
  options: {
    inflight: { type: 'string', default: '8,32,256,1024' },
    requests: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
  },
})
const counts = args.inflight.split(',').map(Number)
const requests = Number(args.requests)
const rounds = Number(args.rounds)
if (!counts.every((n) => Number.isInteger(n) && n > 0) || !(requests > 0) || !(rounds > 0)) {
  console.error(
    'bench:attribution: --inflight takes positive integers; --requests, --rounds positive numbers',
  )
  process.exit(2)
}

const profile = testProfile()
const work = { profile, inputTokens: 500, decodes: true }

/** µs per request (start + end) with `inflight` requests in flight. */
function perRequestUs(
  make: (o: { startMs: number; idlePowerW: number }) => LiveAttribution,
  inflight: number,
): number {
  const t = make({ startMs: 0, idlePowerW: profile.idlePower })
  const marks: LiveMark[] = []
  let now = 0
  for (let i = 0; i < inflight; i++) marks.push(t.start((now += 0.01), work))
  // the O(n) version is slow at large n: fewer requests there, at least 2,000
  const n = Math.max(2000, Math.min(requests, Math.floor((requests * 32) / inflight)))
  let head = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    t.end((now += 0.01), marks[head] as LiveMark)
    marks[head] = t.start((now += 0.01), work)
    head = (head + 1) % inflight
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n
}

console.log(
  `bench:attribution: node ${process.version}, ${String(rounds)} rounds, median µs per request (start + end)`,
)
console.log('in flight   live    reference (O(n))   reference / live')
for (const inflight of counts) {
  const live: number[] = []
  const ref: number[] = []
  for (let r = 0; r < rounds; r++) {
    // alternate which goes first: the same JIT and heap luck for both
    if (r % 2 === 0) {
      live.push(perRequestUs(createLiveAttribution, inflight))
      ref.push(perRequestUs(createReferenceLiveAttribution, inflight))
    } else {
      ref.push(perRequestUs(createReferenceLiveAttribution, inflight))
      live.push(perRequestUs(createLiveAttribution, inflight))
    }
  }
  const l = median(live)
  const f = median(ref)
  console.log(
    `${String(inflight).padStart(9)}   ${l.toFixed(2).padStart(5)}   ${f.toFixed(2).padStart(16)}   ${(f / l).toFixed(1).padStart(16)}×`,
  )
}

/**
 * `npm run bench:cache-admission`: hits of the response cache's in-process store with
 * `min_uses: 1` (every answer stored, the default) against `min_uses: 2` (stored on a request's
 * second coming, as nginx's `proxy_cache_min_uses`), side by side on the same request streams. It
 * runs the gateway's own store (`adapters/cache/record-ring.ts`) and use counter
 * (`http/cache-uses.ts`) over simulated streams, deterministic (seeded):
 *
 * - a share of the requests (`repeat share`) asks one of `--popular` keys, the key's index drawn
 *   as ⌊popular · u²⌋ for u uniform in [0, 1) (a few keys asked often, most rarely); the rest are
 *   requests never seen before or after (one-time prompts);
 * - every answer is 1 KB (a ~900-character JSON body and its record header);
 * - a small store (8 MiB: it holds ≈ 8,000 answers, fewer than the popular keys) and a large one
 *   (512 MiB: everything fits).
 *
 * What it shows: with a store too small for what repeats, one-time answers push out answers that
 * would have been asked again, and `min_uses: 2` gets more hits; with a store that holds
 * everything, `min_uses: 2` only loses each key's first repeat. Synthetic streams, not a trace:
 * no trace in ../shared/data has both prompt identity and enough volume to fill a store.
 *
 * Options: --requests N (per stream, default 300,000), --popular K (default 20,000).
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { RecordRing } from '../packages/wattline/src/adapters/cache/record-ring.ts'
import type { CacheEntry } from '../packages/wattline/src/adapters/cache/cache-store.ts'
import { UseCounter } from '../packages/wattline/src/http/cache-uses.ts'

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '300000' },
    popular: { type: 'string', default: '20000' },
  },
})
const requests = Number(args.requests)
const popular = Number(args.popular)
if (!(requests > 0) || !(popular > 0)) {
  console.error('bench:cache-admission: --requests and --popular must be positive numbers')
  process.exit(2)
}

const ENTRY: CacheEntry = {
  kind: 'json',
  content_type: 'application/json',
  body: `{"choices":[{"message":{"content":"${'x'.repeat(880)}"}}]}`,
  chunks: [],
  backend: 'stub',
  zone: 'FR',
  energy_j: 100,
  energy_low_j: 80,
  energy_high_j: 120,
  carbon_g: 1,
  carbon_low_g: 0.8,
  carbon_high_g: 1.2,
  intensity_g_per_kwh: 50,
  method: 'modelled',
}

/** Hits of one stream through a store of `budget` bytes that stores on the `minUses`th request. */
function hits(minUses: number, budget: number, repeatShare: number): number {
  let state = 1
  const uniform = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32
  const ring = new RecordRing(budget)
  const uses = new UseCounter()
  let found = 0
  let oneTime = 0
  for (let i = 0; i < requests; i++) {
    const name =
      uniform() < repeatShare
        ? `popular ${String(Math.floor(popular * uniform() ** 2))}`
        : `one-time ${String(oneTime++)}`
    const key = createHash('sha256').update(name).digest('hex')
    if (ring.get(key, i) !== undefined) {
      found += 1
      continue
    }
    if (minUses <= 1 || uses.use(key) >= minUses) ring.set(key, ENTRY, Number.MAX_SAFE_INTEGER)
  }
  return found
}

console.log(
  `bench:cache-admission — ${String(requests)} requests per stream, ${String(popular)} popular keys, 1 KB answers (simulated streams, the gateway's store)`,
)
console.log('| repeat share | store | hits, min_uses 1 | hits, min_uses 2 | min_uses 2 / 1 |')
console.log('|---:|---:|---:|---:|---:|')
for (const share of [0.05, 0.2, 0.5]) {
  for (const mib of [8, 512]) {
    const one = hits(1, mib * 1024 * 1024, share)
    const two = hits(2, mib * 1024 * 1024, share)
    const pct = (n: number): string => `${((100 * n) / requests).toFixed(2)} %`
    console.log(
      `| ${String(share)} | ${String(mib)} MiB | ${String(one)} (${pct(one)}) | ${String(two)} (${pct(two)}) | ${(two / Math.max(1, one)).toFixed(2)} |`,
    )
  }
}

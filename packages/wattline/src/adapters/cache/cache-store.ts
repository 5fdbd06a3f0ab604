/**
 * @module adapters/cache/cache-store
 * What the cache-store adapters share: the port's types, and reading an entry back from JSON
 * (Redis). The port, `CacheStore`, is core's (`ports/cache-store.ts`).
 */

import type { CacheEntry } from '@wattline/core'

/** The port (declared in core, `ports/cache-store.ts`). */
export type { CacheEntry, CacheStore } from '@wattline/core'

/** An entry read back from JSON, or undefined when the text is not one (another version: a miss). */
export function readEntry(text: string): CacheEntry | undefined {
  try {
    const e = JSON.parse(text) as Partial<CacheEntry>
    const ok =
      (e.kind === 'json' && typeof e.body === 'string') ||
      (e.kind === 'sse' && Array.isArray(e.chunks))
    return ok && typeof e.energy_j === 'number' ? (e as CacheEntry) : undefined
  } catch {
    return undefined
  }
}

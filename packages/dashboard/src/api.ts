/**
 * @module api
 * Fetching from the gateway's read-only JSON API (docs/api.md). The response types are the server's
 * own, imported as types from `@wattline/core` (`api/dashboard-api-types.ts`). The dashboard holds no
 * business logic: every figure is computed by the server and only formatted here.
 */

/** The API root, resolved from the dashboard's own URL (`/dashboard/` → `/api/`). */
export function apiRoot(): URL {
  return new URL('../api/', new URL('.', window.location.href))
}

const TOKEN_KEY = 'wattline.adminToken'
/** Fired on `window` when the API answers 401: the shell then asks for the admin token. */
export const UNAUTHORIZED_EVENT = 'wattline:unauthorized'

/** Keeps the admin token for this tab only (sessionStorage), or forgets it with `null`. */
export function setAdminToken(token: string | null): void {
  if (token === null || token === '') sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, token)
}

/** GETs `path` (relative to the API root) with `params`; rejects with the API's error message. */
export async function getJson<T>(
  path: string,
  params: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<T> {
  const url = new URL(path, apiRoot())
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  const headers: Record<string, string> = { accept: 'application/json' }
  const token = sessionStorage.getItem(TOKEN_KEY)
  if (token !== null) headers['authorization'] = `Bearer ${token}`
  const res = await fetch(url, { signal, headers })
  if (res.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT))
  const body: unknown = await res.json().catch(() => null)
  if (!res.ok) {
    const message =
      typeof body === 'object' && body !== null && 'error' in body
        ? String((body as { error: { message?: unknown } }).error.message)
        : `HTTP ${res.status}`
    throw new Error(`${url.pathname}: ${message}`)
  }
  return body as T
}

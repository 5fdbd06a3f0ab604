/**
 * The dashboard shell: skip link, header with the view navigation, the window and refresh controls,
 * and the current view. Views are addressed by the URL hash (`#services`), so links, the back button
 * and bookmarks work, and Enter on a navigation link switches the view.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { OverviewBody, TenantsBody } from '@wattline/core'
import { getJson, setAdminToken, UNAUTHORIZED_EVENT } from './api.ts'
import { AnomaliesView } from './views/anomalies.tsx'
import { BackendsView } from './views/backends.tsx'
import { DecisionsView } from './views/decisions.tsx'
import { OverviewView } from './views/overview.tsx'
import { ScalingView } from './views/scaling.tsx'
import { ServicesView } from './views/services.tsx'
import { TenantsView } from './views/tenants.tsx'
import type { ViewProps } from './views/view-props.ts'
import { ZonesView } from './views/zones.tsx'

const VIEWS = [
  { id: 'overview', label: 'Overview', View: OverviewView },
  { id: 'services', label: 'Services', View: ServicesView },
  { id: 'tenants', label: 'Tenants', View: TenantsView },
  { id: 'zones', label: 'Zones', View: ZonesView },
  { id: 'backends', label: 'Backends', View: BackendsView },
  { id: 'scaling', label: 'Right-sizing', View: ScalingView },
  { id: 'decisions', label: 'Routing decisions', View: DecisionsView },
  { id: 'anomalies', label: 'Anomalies', View: AnomaliesView },
] as const satisfies readonly { id: string; label: string; View: (p: ViewProps) => unknown }[]

type ViewId = (typeof VIEWS)[number]['id']

const SPANS = [
  { value: '15m', label: 'Last 15 minutes' },
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
] as const

const SPAN_MS: Readonly<Record<(typeof SPANS)[number]['value'], number>> = {
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '24h': 86_400_000,
  '7d': 604_800_000,
  '30d': 2_592_000_000,
}

const REFRESH_MS = 5000

function viewFromHash(): ViewId {
  const id = window.location.hash.replace(/^#/, '')
  return VIEWS.find((v) => v.id === id)?.id ?? 'overview'
}

export function App() {
  const [view, setView] = useState<ViewId>(viewFromHash)
  const [switched, setSwitched] = useState(false)
  const [span, setSpan] = useState<string>('24h')
  const spanChosen = useRef(false)
  // Until the user picks a window, fit it to young data: the shortest span holding the earliest fact.
  useEffect(() => {
    const ctl = new AbortController()
    getJson<OverviewBody>('overview', { span: '30d' }, ctl.signal)
      .then((o) => {
        if (spanChosen.current || o.data_from_ms === null) return
        const age = o.window.to_ms - o.data_from_ms
        // Narrow only: a ledger younger than a day opens on the span that holds it (a demo started
        // a few minutes ago opens on 15 minutes of 1-minute buckets, not one dot on a day).
        const fit = SPANS.find((s) => SPAN_MS[s.value] >= age)?.value ?? '30d'
        if (SPAN_MS[fit] < SPAN_MS['24h']) setSpan(fit)
      })
      .catch(() => undefined)
    return () => ctl.abort()
  }, [])
  const [generation, setGeneration] = useState(0)
  // The tenant filter ('' = every tenant), offered from the tenants the API knows in the window.
  const [tenant, setTenant] = useState('')
  const [tenantNames, setTenantNames] = useState<readonly string[]>([])
  useEffect(() => {
    const ctl = new AbortController()
    getJson<TenantsBody>('tenants', { span }, ctl.signal)
      .then((t) =>
        setTenantNames(t.tenants.flatMap((x) => (x.tenant === null ? [] : [x.tenant])).sort()),
      )
      .catch(() => undefined)
    return () => ctl.abort()
  }, [span, generation])
  const [paused, setPaused] = useState(false)
  const [needsToken, setNeedsToken] = useState(false)

  useEffect(() => {
    const onUnauthorized = (): void => setNeedsToken(true)
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized)
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized)
  }, [])

  useEffect(() => {
    const onHash = (): void => {
      setView(viewFromHash())
      setSwitched(true)
    }
    window.addEventListener('hashchange', onHash)
    return () => window.removeEventListener('hashchange', onHash)
  }, [])

  const current = VIEWS.find((v) => v.id === view) ?? VIEWS[0]
  const View = current.View
  useEffect(() => {
    document.title = `${current.label} · Wattline dashboard`
  }, [current.label])

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <p class="brand">
          <span aria-hidden="true">⚡</span> Wattline
        </p>
        <nav aria-label="Dashboard views">
          <ul>
            {VIEWS.map((v) => (
              <li key={v.id}>
                <a href={`#${v.id}`} aria-current={v.id === view ? 'page' : undefined}>
                  {v.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>Energy and carbon of AI serving</h1>
        <form class="controls" aria-label="Dashboard controls" onSubmit={(e) => e.preventDefault()}>
          <label for="span">Window</label>
          <select
            id="span"
            value={span}
            onChange={(e) => {
              spanChosen.current = true
              setSpan(e.currentTarget.value)
            }}
          >
            {SPANS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
          <label for="tenant">Tenant</label>
          <select id="tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value)}>
            <option value="">All tenants</option>
            {[...new Set([...tenantNames, ...(tenant === '' ? [] : [tenant])])].map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          <button type="button" aria-pressed={paused} onClick={() => setPaused((p) => !p)}>
            {paused ? 'Resume live refresh' : 'Pause live refresh'}
          </button>
          <span class="muted" id="refresh-note">
            {paused
              ? 'Live refresh paused.'
              : `Refreshes every ${REFRESH_MS / 1000} s while this tab is visible.`}
          </span>
        </form>
        {needsToken && (
          <TokenForm
            onSubmit={(token) => {
              setAdminToken(token)
              setNeedsToken(false)
              setGeneration((g) => g + 1)
            }}
          />
        )}
        <View
          key={`${view}:${generation}`}
          span={span}
          tenant={tenant}
          paused={paused}
          intervalMs={REFRESH_MS}
          focusOnMount={switched}
        />
      </main>
      <footer class="bottom">
        <p>
          Figures come from the Wattline ledger and the gateway's live state through the read-only
          JSON API under <code>/api/</code>. Every figure states whether it was measured or
          modelled. Times are UTC.
        </p>
      </footer>
    </>
  )
}

/** Asks for the gateway's admin token when the API answers 401; kept for this tab only. */
function TokenForm({ onSubmit }: { readonly onSubmit: (token: string) => void }) {
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => input.current?.focus(), [])
  return (
    <form
      class="token-form"
      aria-labelledby="token-heading"
      onSubmit={(e) => {
        e.preventDefault()
        onSubmit(input.current?.value ?? '')
      }}
    >
      <h2 id="token-heading">Admin token required</h2>
      <p role="alert">
        This gateway protects its API with an admin token. Enter it to see the figures; it is kept
        only in this browser tab.
      </p>
      <label for="admin-token">Admin token</label>{' '}
      <input id="admin-token" type="password" autoComplete="current-password" ref={input} />{' '}
      <button type="submit">Use token</button>
    </form>
  )
}

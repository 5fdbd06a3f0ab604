/**
 * @module http/dashboard-static
 * Serves the built dashboard (packages/dashboard/dist) at `/dashboard/`. Unknown paths under it get
 * index.html (the app routes by URL hash, but a reload of a deep link must not 404), except a missing
 * file (a path under `assets/` or whose last segment has an extension): that is an OpenAI-shaped 404
 * `WL_NOT_FOUND`, not an HTML page with 200 that a browser would try to run as a script. Hashed assets are
 * cached for a year; index.html is revalidated every time. When the dashboard has not been built, the
 * routes answer an OpenAI-shaped 503 `WL_DASHBOARD_NOT_BUILT` naming the command that builds it,
 * rather than a bare 404.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { WattlineError } from '@wattline/core'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { toOpenAiError } from './openai-errors.ts'

/** Where `npm run build -w @wattline/dashboard` writes the app. */
export const DEFAULT_DASHBOARD_DIST: string = fileURLToPath(
  new URL('../../../dashboard/dist/', import.meta.url),
)

export const DASHBOARD_BUILD_COMMAND = 'npm run build -w @wattline/dashboard'

export interface DashboardStaticOptions {
  /** Folder holding the built app (index.html and assets/); defaults to packages/dashboard/dist. */
  readonly root?: string
  /** Mount point; default `/dashboard`. */
  readonly prefix?: string
}

/** True when `root` holds a built dashboard. */
export function isDashboardBuilt(root: string = DEFAULT_DASHBOARD_DIST): boolean {
  return existsSync(join(root, 'index.html'))
}

/**
 * Registers `/dashboard` (redirects to `/dashboard/`), `/dashboard/` and `/dashboard/*` on `app`.
 * Await it (or the app's `ready()`) before listening.
 */
export async function registerDashboardStatic(
  app: FastifyInstance,
  options: DashboardStaticOptions = {},
): Promise<void> {
  const root = options.root ?? DEFAULT_DASHBOARD_DIST
  const prefix = (options.prefix ?? '/dashboard').replace(/\/+$/, '')

  app.get(prefix, async (req, reply) => {
    const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : ''
    return reply.redirect(`${prefix}/${query}`, 308)
  })

  if (!isDashboardBuilt(root)) {
    const e = toOpenAiError(
      new WattlineError(
        'WL_DASHBOARD_NOT_BUILT',
        `the Wattline dashboard has not been built (no index.html in ${root}); build it with: ` +
          `${DASHBOARD_BUILD_COMMAND} (the JSON API it reads is available meanwhile under /api/)`,
      ),
    )
    const notBuilt = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
      reply.code(e.status).header('cache-control', 'no-store').send(e.body)
    app.get(`${prefix}/`, notBuilt)
    app.get(`${prefix}/*`, notBuilt)
    return
  }

  await app.register(
    async (child) => {
      await child.register(fastifyStatic, {
        root,
        prefix: '/',
        index: 'index.html',
        wildcard: true,
        setHeaders: (reply, path) => {
          const hashed = path.startsWith(join(root, 'assets'))
          reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache')
        },
      })
      child.setNotFoundHandler(async (req, reply) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          const e = toOpenAiError(
            new WattlineError('WL_NOT_FOUND', `no route for ${req.method} under ${prefix}/`),
          )
          return reply.code(404).send(e.body)
        }
        if (namesAFile(req.url, prefix)) {
          const e = toOpenAiError(
            new WattlineError('WL_NOT_FOUND', `no such file in the dashboard under ${prefix}/`),
          )
          return reply.code(404).header('cache-control', 'no-store').send(e.body)
        }
        return reply.header('cache-control', 'no-cache').sendFile('index.html')
      })
    },
    { prefix },
  )
}

/** True when `url` (under `prefix`) asks for a file: under `assets/`, or a last segment with an extension. */
function namesAFile(url: string, prefix: string): boolean {
  const path = url.split('?')[0] ?? ''
  const rest = path.startsWith(`${prefix}/`) ? path.slice(prefix.length + 1) : path
  const last = rest.split('/').at(-1) ?? ''
  return rest.startsWith('assets/') || /\.[A-Za-z0-9]+$/.test(last)
}

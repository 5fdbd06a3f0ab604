/**
 * @module http/dashboard-static
 * Serves the built dashboard (packages/dashboard/dist) at `/dashboard/`. Unknown paths under it get
 * index.html (the app routes by URL hash, but a reload of a deep link must not 404). Hashed assets are
 * cached for a year; index.html is revalidated every time. When the dashboard has not been built, the
 * routes answer 503 with the command that builds it, rather than a bare 404.
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
    const notBuilt = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
      reply
        .code(503)
        .header('content-type', 'text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          `The Wattline dashboard has not been built (no index.html in ${root}).\n` +
            `Build it with: ${DASHBOARD_BUILD_COMMAND}\n` +
            `The JSON API it reads is available meanwhile under /api/.\n`,
        )
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
        return reply.header('cache-control', 'no-cache').sendFile('index.html')
      })
    },
    { prefix },
  )
}

/**
 * @module http/batch-routes
 * OpenAI's Batch API on the gateway: `POST /v1/files` (multipart, purpose `batch`, JSONL),
 * `GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `POST /v1/batches`, `GET /v1/batches`,
 * `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`. Callers authenticate like every `/v1`
 * route (tenant keys; `resolveCaller`) and see only their own service's (and tenant's) files and
 * batches. Uploads are parsed by @fastify/multipart in this plugin's scope, capped at
 * `batch.max_file_bytes` (413 `WL_REQUEST_TOO_LARGE`).
 */
import multipart from '@fastify/multipart'
import { WattlineError } from '@wattline/core'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WattlineConfig } from '../config/parse-config.ts'
import { fileObject } from '../batch/batch-objects.ts'
import type { BatchService, Owner } from '../batch/batch-service.ts'
import { resolveCaller } from './auth.ts'
import { invalidInput } from './openai-errors.ts'

export interface BatchRoutesDeps {
  readonly config: WattlineConfig
  readonly service: BatchService
}

export async function registerBatchRoutes(
  app: FastifyInstance,
  deps: BatchRoutesDeps,
): Promise<void> {
  const { config, service } = deps
  const maxBytes = config.batch.max_file_bytes
  const owner = (req: FastifyRequest): Owner => {
    const caller = resolveCaller(req.headers, config)
    return { service: caller.service.name, tenant: caller.tenant }
  }
  await app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 1024, parts: 12 },
    })

    scope.post('/v1/files', async (req, reply) => {
      const who = owner(req)
      if (!req.isMultipart()) {
        throw invalidInput('POST /v1/files takes multipart/form-data with fields purpose and file')
      }
      let purpose: string | undefined
      let file: { filename: string; content: Buffer } | undefined
      try {
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            if (part.fieldname !== 'file') {
              await part.toBuffer()
              continue
            }
            file = { filename: part.filename, content: await part.toBuffer() }
          } else if (part.fieldname === 'purpose') {
            purpose = String(part.value)
          }
        }
      } catch (error) {
        const code = (error as { code?: unknown }).code
        if (code === 'FST_REQ_FILE_TOO_LARGE') {
          throw new WattlineError(
            'WL_REQUEST_TOO_LARGE',
            `file is larger than the ${maxBytes} bytes the gateway accepts (batch.max_file_bytes)`,
            { details: { status: 413, param: 'file' } },
          )
        }
        if (typeof code === 'string' && code.startsWith('FST_')) {
          throw invalidInput(`malformed multipart upload: ${(error as Error).message}`, 'file')
        }
        throw error
      }
      if (file === undefined) throw invalidInput('multipart field "file" is missing', 'file')
      if (purpose === undefined)
        throw invalidInput('multipart field "purpose" is missing', 'purpose')
      const obj = await service.uploadFile(who, { purpose, ...file })
      return reply.code(200).send(obj)
    })

    scope.get<{ Params: { id: string } }>('/v1/files/:id', async (req) => {
      const f = await service.file(owner(req), req.params.id)
      const { content: _content, ...rest } = f
      return fileObject(rest)
    })

    scope.get<{ Params: { id: string } }>('/v1/files/:id/content', async (req, reply) => {
      const f = await service.file(owner(req), req.params.id)
      return reply.header('content-type', 'application/jsonl; charset=utf-8').send(f.content)
    })

    scope.post('/v1/batches', async (req) => service.createBatch(owner(req), req.body))

    scope.get<{ Querystring: { limit?: string } }>('/v1/batches', async (req) => {
      const limit = Number(req.query.limit ?? 20)
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw invalidInput('limit must be an integer from 1 to 100', 'limit')
      }
      return service.listBatches(owner(req), limit)
    })

    scope.get<{ Params: { id: string } }>('/v1/batches/:id', async (req) =>
      service.batch(owner(req), req.params.id),
    )

    scope.post<{ Params: { id: string } }>('/v1/batches/:id/cancel', async (req) =>
      service.cancel(owner(req), req.params.id),
    )
  })
}

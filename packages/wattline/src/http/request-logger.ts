/**
 * @module http/request-logger
 * The request logger fastify hands each request (`req.log`, `reply.log`), built on first use.
 * fastify's default makes a pino child per request (bindings `{ reqId }` serialised at once,
 * ≈ 1–2 µs and a few objects), yet the gateway logs almost no request through it: the proxy route
 * writes its one line per request with the app's logger, and `req.log` is used on refusals and
 * errors only. This logger makes the very same child (same bindings, same options) the first time a
 * method is called, so a log line reads exactly as before; a request that logs nothing never
 * builds one.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions, LogFn } from 'pino'

/** A request's child logger, made the first time it is used. */
class LazyChildLogger implements FastifyBaseLogger {
  readonly #parent: FastifyBaseLogger
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions
  #child: FastifyBaseLogger | undefined = undefined
  // The log methods live on the prototype (below): nothing per request but the four fields.
  declare fatal: LogFn
  declare error: LogFn
  declare warn: LogFn
  declare info: LogFn
  declare debug: LogFn
  declare trace: LogFn
  declare silent: LogFn

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  /** The pino child fastify's default would have made for the request (made once, here). */
  real(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#options))
  }

  get level(): string {
    return this.real().level
  }

  set level(level: string) {
    this.real().level = level
  }

  isLevelEnabled(level: string): boolean {
    return (
      this.real() as FastifyBaseLogger & { isLevelEnabled(l: string): boolean }
    ).isLevelEnabled(level)
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options)
  }
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

for (const level of LEVELS) {
  Object.defineProperty(LazyChildLogger.prototype, level, {
    value: function (this: LazyChildLogger, ...args: unknown[]): void {
      const real = this.real()
      ;(real[level] as (...a: unknown[]) => void).apply(real, args)
    },
    writable: true,
    configurable: true,
  })
}

/** fastify's `childLoggerFactory`: the request's child logger, made when first used. */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, options)
}

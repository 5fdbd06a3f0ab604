/**
 * @module scaling/scaling-routes
 * HTTP side of the live scaler:
 * - `GET /scaling/{pool}`: one pool's recommendation as JSON, for KEDA's `metrics-api` scaler
 *   (`valueLocation: recommended_replicas`); guarded like `/metrics` (the metrics token, when set),
 *   since KEDA, like Prometheus, is a machine reader of the gateway's figures;
 * - `GET /api/scaling`: every pool's recommendation for the dashboard (admin-guarded, as all /api).
 */
import type { FastifyInstance } from 'fastify'
import { closeMatches, WattlineError } from '@wattline/core'
import { checkToken } from '../http/auth.ts'
import type { LiveScaler } from './live-scaler.ts'

export interface ScalingRoutesDeps {
  readonly scaler: LiveScaler
  readonly metricsToken?: string
}

export function registerScalingRoutes(app: FastifyInstance, deps: ScalingRoutesDeps): void {
  const { scaler } = deps
  app.get<{ Params: { pool: string } }>('/scaling/:pool', async (req) => {
    if (!checkToken(req.headers['authorization'], deps.metricsToken))
      throw new WattlineError('WL_UNAUTHORIZED', 'metrics token required')
    const rec = scaler.recommendation(req.params.pool)
    if (rec === undefined) {
      const pool = req.params.pool.slice(0, 80)
      throw new WattlineError(
        'WL_NOT_FOUND',
        scaler.pools.length === 0
          ? `no pool "${pool}": no backend has a scaling: section`
          : `no pool "${pool}" (pools: ${scaler.pools.join(', ')})`,
        { details: { field: 'pool', matches: closeMatches(pool, scaler.pools) } },
      )
    }
    return rec
  })
  app.get('/api/scaling', async () => ({
    pools: scaler.pools.map((p) => scaler.recommendation(p)),
  }))
}

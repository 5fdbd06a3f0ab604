/**
 * @module config/tenants
 * The config of a service's tenants: bearer keys (`api_keys[]`, the key in an environment variable
 * or only its SHA-256 digest) and per-tenant budgets (`tenants[]`). The main schema embeds these;
 * `parse-config.ts` calls {@link checkTenants} for the cross-field rules and {@link readTenantKeys}
 * to turn keys into digests. docs/configuration.md "Tenants" and docs/budgets.md "Tenant budgets".
 */
import { createHash } from 'node:crypto'
import { TENANT_BUDGET_MODES, TENANT_BUDGET_PERIODS } from '@wattline/core'
import * as z from 'zod'

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' })

/** The metric label of tenants not in the config (and of requests without a tenant key). */
export const RESERVED_TENANT = 'other'

/** Default share of a cap from which responses carry `x-wattline-tenant-budget: warning`, percent. */
export const DEFAULT_TENANT_WARN_AT_PCT = 80

/** A tenant's bearer API key: the key in an environment variable, or only its SHA-256 digest. */
export const tenantKeySchema = z
  .strictObject({
    /** Tenant name recorded in the ledger (never the key). */
    tenant: z.string().min(1),
    /** Environment variable holding the key. */
    key_env: envName.optional(),
    /** SHA-256 of the key, 64 hex digits (`wattline keys hash`): the key itself is never stored. */
    key_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, {
        error:
          'key_sha256 must be 64 hex digits (the SHA-256 of the key; see `wattline keys hash`)',
      })
      .optional(),
  })
  .superRefine((k, ctx) => {
    const n = (k.key_env === undefined ? 0 : 1) + (k.key_sha256 === undefined ? 0 : 1)
    if (n !== 1)
      ctx.addIssue({
        code: 'custom',
        path: n === 0 ? ['key_env'] : ['key_sha256'],
        message:
          n === 0
            ? 'give the key as key_env (an environment variable) or key_sha256 (its SHA-256 digest)'
            : 'give key_env or key_sha256, not both',
      })
  })
export type TenantKeyConfig = z.infer<typeof tenantKeySchema>

/** A tenant's budget over a calendar period (UTC). */
export const tenantBudgetSchema = z
  .strictObject({
    period: z.enum(TENANT_BUDGET_PERIODS, {
      error: `period must be one of ${TENANT_BUDGET_PERIODS.join(', ')}`,
    }),
    /** Cap on the IT energy attributed to the tenant's requests in the period, joules. */
    energy_j: z
      .number({ error: 'energy_j must be a number (J)' })
      .positive({
        error: 'energy_j must be > 0 (J)',
      })
      .optional(),
    /** Cap on the carbon attributed to the tenant's requests in the period, gCO2e. */
    carbon_g: z
      .number({ error: 'carbon_g must be a number (g)' })
      .positive({
        error: 'carbon_g must be > 0 (g)',
      })
      .optional(),
    /** `warn`: serve, flag (header, log, metric); `enforce`: refuse with 429 once a cap is reached. */
    mode: z.enum(TENANT_BUDGET_MODES, { error: 'mode must be warn or enforce' }).default('warn'),
    /** From this share of a cap on, responses carry the `warning` state, percent (0–100). */
    warn_at_pct: z
      .number()
      .min(0, { error: 'warn_at_pct must be ≥ 0 (percent)' })
      .max(100, { error: 'warn_at_pct must be ≤ 100 (percent)' })
      .default(DEFAULT_TENANT_WARN_AT_PCT),
  })
  .superRefine((b, ctx) => {
    if (b.energy_j === undefined && b.carbon_g === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a tenant budget needs energy_j (J) or carbon_g (g), or both',
      })
  })
export type TenantBudgetConfig = z.infer<typeof tenantBudgetSchema>

/** One tenant of a service, named as in `api_keys[].tenant`. */
export const tenantSchema = z.strictObject({
  name: z.string().min(1),
  budget: tenantBudgetSchema.optional(),
})
export type TenantConfig = z.infer<typeof tenantSchema>

/** A tenant key as the gateway holds it: the digest only (plus the raw key of `key_env` entries). */
export interface TenantKey {
  readonly service: string
  readonly tenant: string
  /** SHA-256 of the key, 64 lower-case hex digits: what requests are compared against. */
  readonly sha256: string
  /**
   * The key itself, for `key_env` entries only (the Batch API runner sends it on its loopback
   * calls); `key_sha256` entries have none.
   */
  readonly key?: string
}

/** SHA-256 digest of a key (UTF-8), 64 lower-case hex digits. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex')
}

interface Issue {
  readonly path: readonly (string | number)[]
  readonly message: string
}

interface ServiceTenants {
  readonly name: string
  readonly api_keys: readonly TenantKeyConfig[]
  readonly tenants?: readonly TenantConfig[] | undefined
}

/**
 * The tenant keys of every service as digests; a key variable that is unset and a key used twice
 * (same digest) are issues with their path. Keys never appear in messages.
 */
export function readTenantKeys(
  services: readonly ServiceTenants[],
  need: (name: string, path: (string | number)[]) => string,
  issues: Issue[],
): TenantKey[] {
  const keys: TenantKey[] = []
  services.forEach((s, i) => {
    s.api_keys.forEach((k, j) => {
      let entry: TenantKey | undefined
      if (k.key_sha256 !== undefined) {
        entry = {
          service: s.name,
          tenant: k.tenant,
          sha256: k.key_sha256.toLowerCase(),
        }
      } else if (k.key_env !== undefined) {
        const key = need(k.key_env, ['services', i, 'api_keys', j, 'key_env'])
        if (key !== '') entry = { service: s.name, tenant: k.tenant, sha256: keyDigest(key), key }
      }
      if (entry === undefined) return
      const sha = entry.sha256
      if (keys.some((t) => t.sha256 === sha)) {
        issues.push({
          path: ['services', i, 'api_keys', j],
          message: 'this key is already used by another tenant',
        })
      }
      keys.push(entry)
    })
  })
  return keys
}

/**
 * Cross-field rules of `services[].tenants`: names unique within the service and each one a tenant
 * of the service's `api_keys` (a budget for a tenant no key maps to could never apply).
 */
export function checkTenants(services: readonly ServiceTenants[], issues: Issue[]): void {
  services.forEach((s, i) => {
    s.api_keys.forEach((k, j) => {
      if (k.tenant === RESERVED_TENANT)
        issues.push({
          path: ['services', i, 'api_keys', j, 'tenant'],
          message: `tenant name '${RESERVED_TENANT}' is reserved (the metric label of tenants not in the config)`,
        })
    })
    const keyed = [...new Set(s.api_keys.map((k) => k.tenant))]
    const seen = new Set<string>()
    s.tenants?.forEach((t, j) => {
      if (seen.has(t.name))
        issues.push({
          path: ['services', i, 'tenants', j, 'name'],
          message: `tenant '${t.name}' is listed twice`,
        })
      seen.add(t.name)
      if (!keyed.includes(t.name))
        issues.push({
          path: ['services', i, 'tenants', j, 'name'],
          message:
            keyed.length === 0
              ? `unknown tenant '${t.name}': this service has no api_keys, so no request is ever this tenant's`
              : `unknown tenant '${t.name}'; tenants of this service's api_keys: ${keyed.join(', ')}`,
        })
    })
  })
}

/** Tenant names configured anywhere (api_keys and tenants[]): the only values of metric labels. */
export function configuredTenants(services: readonly ServiceTenants[]): ReadonlySet<string> {
  const names = new Set<string>()
  for (const s of services) {
    for (const k of s.api_keys) names.add(k.tenant)
    for (const t of s.tenants ?? []) names.add(t.name)
  }
  return names
}

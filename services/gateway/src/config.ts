import { z } from 'zod';
import { loadPublicKey } from '@tenantgate/audit-core';
import { envFields, parseConfig, type Env } from '@tenantgate/shared';

/** The gateway's environment (documented in ARCHITECTURE.md, "Gateway"). */
export const GatewayConfigSchema = z.object({
  DATABASE_URL: envFields.DATABASE_URL,
  REDIS_URL: envFields.REDIS_URL,
  QUEUE_PREFIX: envFields.QUEUE_PREFIX,
  LOG_LEVEL: envFields.LOG_LEVEL,
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: envFields.port.default(4000),
  INTROSPECTION: envFields.bool.default(false),
  GRAPHIQL: envFields.bool.default(false),
  SESSION_TTL_S: envFields.positiveInt.default(8 * 3600),
  CREDENTIALS_KEY: envFields.key32,
  LOGIN_MAX_FAILURES: envFields.positiveInt.default(5),
  LOGIN_LOCKOUT_S: envFields.positiveInt.default(900),
  LOGIN_IP_LIMIT: envFields.positiveInt.default(30),
  LOGIN_IP_WINDOW_S: envFields.positiveInt.default(60),
  MAX_PAGE_SIZE: envFields.positiveInt.default(100),
  MAX_DEPTH: envFields.positiveInt.default(10),
  MAX_COST: envFields.positiveInt.default(5000),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb)$/)
    .default('100kb'),
  DB_POOL_MAX: envFields.positiveInt.default(10),
  /** Open subscriptions ask the authorization service again this often (and before each event). */
  SUBSCRIPTION_RECHECK_S: envFields.positiveInt.default(30),
  /** Ed25519 public keys (base64 SPKI DER or PEM), comma-separated: verify exported audit bundles. */
  AUDIT_PUBLIC_KEYS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const keys = [];
      for (const part of v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        try {
          keys.push(loadPublicKey(part));
        } catch {
          ctx.addIssue({ code: 'custom', message: 'each key must be an Ed25519 public key (base64 SPKI DER or PEM)' });
          return z.NEVER;
        }
      }
      return keys;
    }),
});
export type GatewayConfig = z.output<typeof GatewayConfigSchema>;

export function loadConfig(env: Env = process.env): GatewayConfig {
  return parseConfig(GatewayConfigSchema, env);
}

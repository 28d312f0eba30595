import { z } from 'zod';
import { ConfigError } from '../errors/config-error.ts';

export type Env = Record<string, string | undefined>;

/**
 * Parses environment variables with a zod schema, once, in a service's composition root.
 * Every problem is reported at once. This is the only place that interprets configuration.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return result.data;
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Building blocks each service composes into its own schema (see the env tables in ARCHITECTURE.md). */
export const envFields = {
  DATABASE_URL: z.string().url().describe('PostgreSQL connection URL'),
  REDIS_URL: z.string().url().describe('Redis connection URL'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/)
    .default('tenantgate')
    .describe('BullMQ key prefix; tests use a unique one per file'),
  bool,
  port: z.coerce.number().int().min(0).max(65535),
  positiveInt: z.coerce.number().int().positive(),
  /** 32 bytes, base64 (AES-256-GCM key for PVE credentials at rest). */
  key32: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
    .transform((v) => Buffer.from(v, 'base64')),
};

// Helpers for integration tests on the real PostgreSQL and Redis that the vitest global setup
// (infra/stack/src/vitest-global-setup.ts) starts once per run.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

/** A fresh, migrated database for one test file: a copy of the template (a file copy, fast). */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplate');
  const name = `tg_${label
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase()
    .slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name} TEMPLATE ${template}`);
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** The run's Redis URL. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A BullMQ prefix / channel namespace no other test file uses. */
export function uniquePrefix(label = 't'): string {
  return `${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}${randomBytes(5).toString('hex')}`;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the maintenance database on the test server. */
    pgAdminUrl: string;
    /** Name of the migrated template database that test databases are copied from. */
    pgTemplate: string;
    redisUrl: string;
  }
}

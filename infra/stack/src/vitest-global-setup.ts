// Vitest global setup: one real PostgreSQL and one real Redis for the whole run. Test files get
// their own database (a copy of a migrated template) and their own BullMQ prefix, so they run
// concurrently without seeing each other. TENANTGATE_TEST_DATABASE_URL / TENANTGATE_TEST_REDIS_URL
// point the run at servers that are already running instead.
import { join } from 'node:path';
import { chmod, mkdtemp, mkdir, rm } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import type {} from '@tenantgate/testing';
import { LocalPostgres } from './postgres.ts';
import { LocalRedis } from './redis.ts';
import { prepareTemplateDatabase } from './test-databases.ts';
import { repoRoot } from './paths.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Read once here, in the runner's composition root for tests.
  const env = process.env;
  const base = join(repoRoot, '.data', 'test');
  await mkdir(base, { recursive: true });
  const work = await mkdtemp(join(base, 'run-'));
  // PostgreSQL runs as the unprivileged `postgres` user when we are root: it must reach its data dir.
  await chmod(work, 0o755);
  const stops: Array<() => Promise<void>> = [];

  let pgAdminUrl = env.TENANTGATE_TEST_DATABASE_URL;
  if (!pgAdminUrl) {
    const pg = new LocalPostgres({ dataDir: join(work, 'pg'), persistent: false });
    pgAdminUrl = await pg.start();
    stops.push(() => pg.stop());
  }
  let redisUrl = env.TENANTGATE_TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = new LocalRedis({ dataDir: join(work, 'redis'), persistent: false });
    redisUrl = await redis.start();
    stops.push(() => redis.stop());
  }
  const pgTemplate = `tg_template_${process.pid}`;
  await prepareTemplateDatabase(pgAdminUrl, pgTemplate);

  project.provide('pgAdminUrl', pgAdminUrl);
  project.provide('pgTemplate', pgTemplate);
  project.provide('redisUrl', redisUrl);

  return async () => {
    for (const stop of stops.reverse()) await stop();
    await rm(work, { recursive: true, force: true });
  };
}

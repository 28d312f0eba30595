import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Logger } from 'pino';
import { allEntities } from './entities.ts';
import { migrationsList } from './migrations/index.ts';

export type Orm = MikroORM;
/** A forked, request- or job-scoped EntityManager. */
export type Em = EntityManager;

export interface OrmOptions {
  databaseUrl: string;
  /** Connection pool size for this process. */
  poolMax?: number;
  logger?: Logger;
  debug?: boolean;
}

/** Builds the one MikroORM instance of a process. Callers fork its EntityManager per request/job. */
export async function createOrm(options: OrmOptions): Promise<Orm> {
  return new MikroORM({
    clientUrl: options.databaseUrl,
    entities: allEntities,
    extensions: [Migrator],
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    pool: { min: 0, max: options.poolMax ?? 10 },
    debug: options.debug ?? false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: false },
    ...(options.logger ? { logger: (msg: string) => options.logger?.debug({ orm: true }, msg) } : {}),
  });
}

/** Applies every pending migration to the database at `databaseUrl`. */
export async function migrateDatabase(databaseUrl: string, logger?: Logger): Promise<string[]> {
  const orm = await createOrm({ databaseUrl, poolMax: 2, ...(logger ? { logger } : {}) });
  try {
    const applied = await orm.migrator.up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}

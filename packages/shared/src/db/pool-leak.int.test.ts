// Regression: a transaction whose connection died leaked its pool slot. Kysely (under MikroORM)
// released the connection only after a successful ROLLBACK; on a dead connection ROLLBACK fails,
// so after `poolMax` interrupted transactions (a PostgreSQL restart) every request hung until the
// process restarted. patches/kysely@0.29.6.patch releases it in a `finally` (kysely-org/kysely#1990).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@tenantgate/testing';
import { createOrm, type Orm } from './orm.ts';

let database: TestDatabase;
let orm: Orm;
let admin: Orm;

beforeAll(async () => {
  database = await createTestDatabase('poolleak');
  orm = await createOrm({ databaseUrl: database.url, poolMax: 2 });
  admin = await createOrm({ databaseUrl: database.url, poolMax: 1 });
});
afterAll(async () => {
  await orm.close(true);
  await admin.close(true);
  await database.drop();
});

/** Fails (instead of hanging the suite) when the pool has no connection left to give. */
function within<T>(what: string, p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no pool connection (leaked)`)), ms);
    }),
  ]);
}

describe('connection pool', () => {
  it('regression: transactions interrupted by a dead connection leaked their pool slots', async () => {
    for (let i = 0; i < 5; i++) {
      const attempt = orm.em.fork().transactional(async (em) => {
        const pid = (await em.execute<Array<{ pid: number }>>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
        await admin.em.fork().execute('SELECT pg_terminate_backend(?)', [pid]);
        await em.execute('SELECT 1');
      });
      await expect(within(`interrupted transaction ${i + 1}`, attempt)).rejects.toThrow(/terminat|connection|closed/i);
    }
    // Both slots are usable again: two transactions at once, each holding its connection.
    const both = await within(
      'after the interruptions',
      Promise.all(
        [1, 2].map((n) =>
          orm.em.fork().transactional(async (em) => {
            const [row] = await em.execute<Array<{ n: number }>>('SELECT ?::int AS n, pg_sleep(0.05)', [n]);
            return row!.n;
          }),
        ),
      ),
    );
    expect(both).toEqual([1, 2]);
  }, 60_000);
});

// Raw SQL with bound parameters on the ORM's pool. pve-sync writes in bulk (thousands of tasks and
// inbox rows per transaction), which the entity layer would turn into per-row statements; the
// ORM's own `execute` inlines parameters into the SQL text, so this goes one level down to the
// Kysely executor MikroORM 7 runs on, inside the EntityManager's transaction when there is one.
import { CompiledQuery } from 'kysely';
import type { Em } from '@tenantgate/shared';

export interface Sql {
  /** Runs one statement and returns its rows. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs one statement and returns the number of affected rows. */
  exec(text: string, params?: readonly unknown[]): Promise<number>;
}

interface Executor {
  executeQuery<R>(q: CompiledQuery<R>): Promise<{ rows: R[]; numAffectedRows?: bigint }>;
}

/** An `Sql` bound to `em`: inside `em.transactional(...)` it runs in that transaction. */
export function sqlOf(em: Em): Sql {
  const executor = (): Executor =>
    (em.getTransactionContext<Executor & never>() as Executor | undefined) ??
    (em.getConnection().getClient() as unknown as Executor);
  return {
    async query<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
      const res = await executor().executeQuery<R>(CompiledQuery.raw(text, [...params]));
      return res.rows;
    },
    async exec(text: string, params: readonly unknown[] = []): Promise<number> {
      const res = await executor().executeQuery(CompiledQuery.raw(text, [...params]));
      return Number(res.numAffectedRows ?? 0n);
    },
  };
}

/** Runs `fn` in one database transaction; everything `fn` writes commits or rolls back together. */
export async function inTransaction<T>(em: Em, fn: (sql: Sql) => Promise<T>): Promise<T> {
  return await em.fork().transactional(async (tx) => await fn(sqlOf(tx)));
}

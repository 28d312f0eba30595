// Raw SQL access for the audit pipeline. The hot path (claim, append, alert state) is set-based
// SQL with bound parameters on the `pg` pool that the process's MikroORM instance owns.
import type { Pool, PoolClient } from 'pg';
import type { Orm } from '@tenantgate/shared';

export type Db = Pool;
export type Tx = PoolClient;

/** The `pg` pool behind the ORM (one pool per process; the ORM owns and closes it). */
export async function poolOf(orm: Orm): Promise<Db> {
  const connection = orm.em.getConnection() as unknown as { getNativeClient(): Promise<Pool> };
  return await connection.getNativeClient();
}

const RETRYABLE = new Set(['40001', '40P01']);

/** Runs `fn` in one transaction; retries serialization failures and deadlocks a few times. */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await db.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      const code = (err as { code?: string }).code;
      if (attempt < attempts && code !== undefined && RETRYABLE.has(code)) continue;
      throw err;
    } finally {
      client.release(broken);
    }
  }
}

/**
 * Runs `fn` in a read-only REPEATABLE READ transaction: one snapshot, so a chain read while the
 * auditor appends is consistent (head, checkpoints and records of the same moment).
 */
export async function inSnapshot<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return await fn(client);
    } finally {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
    }
  } finally {
    client.release(broken);
  }
}

/**
 * A named (prepared) statement: parsed and planned once per connection, not per batch. Only for
 * constant SQL text (the name identifies the text on each connection).
 */
export function named(
  name: string,
  text: string,
  values?: unknown[],
): { name: string; text: string; values?: unknown[] } {
  return values === undefined ? { name, text } : { name, text, values };
}

/** SQL expression rendering a timestamptz as ISO-8601 UTC with milliseconds (the hashed form). */
export function isoSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

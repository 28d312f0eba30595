// What every bench on real storage needs: its own PostgreSQL (embedded) and redis-server in a
// scratch directory, one migrated database, and an ordered cleanup. Plus the helpers two or more
// benches share (inbox inserts, percentiles).
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { migrateDatabase, type AuditSourceEventInput } from '@tenantgate/shared';
import { LocalPostgres, LocalRedis, dataDir } from '@tenantgate/stack';

export interface BenchStores {
  /** The migrated database of this bench. */
  databaseUrl: string;
  redisUrl: string;
  /** The scratch directory (removed by `cleanup`). */
  work: string;
  /** Runs after everything registered later (LIFO), before the servers stop. */
  defer(step: () => Promise<unknown>): void;
  /** Runs every deferred step (errors reported, never thrown), stops both servers, removes `work`. */
  cleanup(): Promise<void>;
}

/** Starts PostgreSQL and Redis for bench `name` (database `bench_<name>`, migrated). */
export async function startBenchStores(name: string): Promise<BenchStores> {
  const base = join(dataDir, 'bench');
  await mkdir(base, { recursive: true });
  const work = await mkdtemp(join(base, `${name}-`));
  // PostgreSQL runs as the unprivileged `postgres` user when we are root: it must reach its data dir.
  await chmod(work, 0o755);
  const postgres = new LocalPostgres({ dataDir: join(work, 'pg'), persistent: false });
  const redisServer = new LocalRedis({ dataDir: join(work, 'redis'), persistent: false });
  const steps: Array<() => Promise<unknown>> = [
    () => rm(work, { recursive: true, force: true }),
    () => postgres.stop(),
    () => redisServer.stop(),
  ];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const step of steps.reverse()) {
        try {
          await step();
        } catch (err) {
          process.stderr.write(`bench cleanup: ${String(err)}\n`);
        }
      }
    })());
  try {
    const redisUrl = await redisServer.start();
    const adminUrl = await postgres.start();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE bench_${name.replace(/\W/g, '_')}`);
    await admin.end();
    const databaseUrl = postgres.url(`bench_${name.replace(/\W/g, '_')}`);
    await migrateDatabase(databaseUrl);
    return { databaseUrl, redisUrl, work, defer: (step) => void steps.push(step), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Inserts inbox rows with one multi-row statement per chunk (the producers' side, not measured). */
export async function insertInbox(db: pg.Pool, events: readonly AuditSourceEventInput[]): Promise<void> {
  for (let i = 0; i < events.length; i += 2000) {
    const chunk = events.slice(i, i + 2000);
    await db.query(
      `INSERT INTO audit_inbox (dedup_key, event_id, connection_id, source, occurred_at, observed_at, event)
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::jsonb[])`,
      [
        chunk.map((e) => e.dedupKey),
        chunk.map((e) => e.eventId),
        chunk.map((e) => e.connectionId ?? null),
        chunk.map((e) => e.source),
        chunk.map((e) => e.occurredAt),
        chunk.map((e) => e.observedAt),
        chunk.map((e) => JSON.stringify(e)),
      ],
    );
  }
}

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

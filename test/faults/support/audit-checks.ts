// What "every source event is in the audit trail exactly once" means, computed independently of
// the services: the expected events come from the simulator's own task lists and from the
// activity script's record; the trail is read straight from Postgres.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import type { Simulator } from '@tenantgate/pve-sim';
import { repoRoot } from '@tenantgate/stack';
import type { ActivityRecord } from './activity.ts';

export interface TrailContext {
  db: pg.Pool;
  sim: Simulator;
  /** Cluster name → pve_connection id. */
  connections: Map<string, string>;
  /** PVE pool → tenant id (the demo seed assigns each tenant the pool of its slug). */
  tenantOfPool: Map<string, string>;
}

export interface ExpectedEvent {
  key: string;
  /** The chain that must hold it, when it is certain (a guest that never changed pools). */
  chain: 'provider' | string | undefined;
  what: string;
  /** May be absent; when present it obeys the same rules (once per chain, the right chain). */
  optional?: boolean;
}

/**
 * Every task the simulator knows (history and new) → its inbox key (pve-sync's dedup key
 * `<connection>|<UPID>:<phase>`): `finished` once it ended, `started` while it runs.
 */
export function expectedTaskEvents(ctx: TrailContext, moved: ActivityRecord['moved']): ExpectedEvent[] {
  const out: ExpectedEvent[] = [];
  for (const c of ctx.sim.clusters) {
    const connectionId = ctx.connections.get(c.name)!;
    c.state.settle();
    for (const node of c.state.nodes.values()) {
      const { items } = node.tasks.query({ start: 0, limit: 10_000_000, errors: false, source: 'all' });
      for (const t of items) {
        const vmid = /^\d{3,9}$/.test(t.id) && Number(t.id) >= 100 ? Number(t.id) : null;
        let chain: ExpectedEvent['chain'];
        if (vmid === null) chain = 'provider';
        else if (c.state.guests.has(vmid) && !moved.get(c.name)?.has(vmid)) {
          const pool = c.state.access.poolOfVm(vmid)?.poolid;
          chain = (pool && ctx.tenantOfPool.get(pool)) || 'provider';
        }
        const what = `${c.name} ${t.type} ${t.id || node.name}`;
        // pve-sync reports `started` only for a task it saw running (timing-dependent, so not
        // expected here); every finished task is one `finished` event, whenever it was polled.
        if (t.status === undefined) out.push({ key: `${connectionId}|${t.upid}:started`, chain, what });
        else {
          out.push({ key: `${connectionId}|${t.upid}:finished`, chain, what });
          out.push({ key: `${connectionId}|${t.upid}:started`, chain, what, optional: true });
        }
      }
    }
  }
  return out;
}

/** Keys not yet in the inbox, or not yet processed by an auditor. */
export async function pendingKeys(db: pg.Pool, keys: string[]): Promise<string[]> {
  const { rows } = await db.query<{ dedup_key: string }>(
    'SELECT dedup_key FROM audit_inbox WHERE dedup_key = ANY($1::text[]) AND processed_at IS NOT NULL',
    [keys],
  );
  const done = new Set(rows.map((r) => r.dedup_key));
  return keys.filter((k) => !done.has(k));
}

export async function providerChainId(db: pg.Pool): Promise<string | undefined> {
  const { rows } = await db.query<{ chain_id: string }>('SELECT chain_id FROM audit_chain WHERE tenant_id IS NULL');
  return rows[0]?.chain_id;
}

/** Everything wrong with the trail; empty when every check holds. */
export async function auditTrailProblems(
  ctx: TrailContext,
  expected: ExpectedEvent[],
  activity: ActivityRecord,
): Promise<string[]> {
  const { db } = ctx;
  const problems: string[] = [];
  const show = (xs: unknown[]) => `${xs.length}: ${JSON.stringify(xs.slice(0, 8))}${xs.length > 8 ? ' …' : ''}`;

  // 1. Each expected task event: in the inbox, processed, and in exactly its chain(s), once each.
  const provider = await providerChainId(db);
  const keys = expected.map((e) => e.key);
  const required = expected.filter((e) => !e.optional);
  const pending = await pendingKeys(
    db,
    required.map((e) => e.key),
  );
  if (pending.length > 0) problems.push(`task events missing from the inbox or unprocessed ${show(pending)}`);
  const { rows: placed } = await db.query<{ dedup_key: string; chain_id: string; n: number }>(
    `SELECT dedup_key, chain_id, count(*)::int AS n FROM audit_record WHERE dedup_key = ANY($1::text[])
      GROUP BY dedup_key, chain_id`,
    [keys],
  );
  const chainsOf = new Map<string, string[]>();
  for (const r of placed) {
    if (r.n !== 1) problems.push(`${r.dedup_key} is ${r.n} times in chain ${r.chain_id}`);
    chainsOf.set(r.dedup_key, [...(chainsOf.get(r.dedup_key) ?? []), r.chain_id]);
  }
  const unrecorded = required.filter((e) => !chainsOf.has(e.key)).map((e) => `${e.key} (${e.what})`);
  if (unrecorded.length > 0) problems.push(`task events in no chain ${show(unrecorded)}`);
  const misplaced = expected
    .filter((e) => e.chain !== undefined && chainsOf.has(e.key))
    .map((e) => ({ e, want: e.chain === 'provider' ? provider : e.chain, got: chainsOf.get(e.key)! }))
    .filter(({ want, got }) => got.length !== 1 || got[0] !== want)
    .map(({ e, want, got }) => `${e.key} (${e.what}) in ${got.join(',')} instead of ${want}`);
  if (misplaced.length > 0) problems.push(`task events in the wrong chain ${show(misplaced)}`);

  // 2. Failed logins (unique user names) and created tokens: exactly one inbox row and one record each.
  /** Keys of `keys` that are not exactly once in the inbox and once in the trail. */
  const notExactlyOnce = async (keys: string[], inboxSql: string, recordSql: string) => {
    const inbox = await countBy(db, inboxSql, keys);
    const records = await countBy(db, recordSql, keys);
    return keys
      .filter((k) => inbox.get(k) !== 1 || records.get(k) !== 1)
      .map((k) => `${k}: inbox ${inbox.get(k) ?? 0}, records ${records.get(k) ?? 0}`);
  };
  const badFailures = await notExactlyOnce(
    activity.authFailures.map((a) => a.user),
    `SELECT event->'actor'->>'id' AS k, count(*)::int AS n FROM audit_inbox
      WHERE event->>'action' = 'auth.login_failed' AND event->'actor'->>'id' = ANY($1::text[]) GROUP BY 1`,
    `SELECT actor_id AS k, count(*)::int AS n FROM audit_record
      WHERE action = 'auth.login_failed' AND actor_id = ANY($1::text[]) GROUP BY 1`,
  );
  if (badFailures.length > 0) problems.push(`failed logins not exactly once ${show(badFailures)}`);
  const badTokens = await notExactlyOnce(
    activity.tokens.map((t) => t.tokenId),
    `SELECT event->'target'->>'id' AS k, count(*)::int AS n FROM audit_inbox
      WHERE event->>'action' = 'token.created' AND event->'target'->>'id' = ANY($1::text[]) GROUP BY 1`,
    `SELECT target_id AS k, count(*)::int AS n FROM audit_record
      WHERE action = 'token.created' AND target_id = ANY($1::text[]) GROUP BY 1`,
  );
  if (badTokens.length > 0) problems.push(`created tokens not exactly once ${show(badTokens)}`);

  // 3. The whole trail: no unprocessed inbox rows, no processed row without a record, no duplicate
  //    (chain, dedup key), gapless seq from 1 to the chain head.
  const unprocessed = await db.query(
    'SELECT dedup_key, attempts, last_error FROM audit_inbox WHERE processed_at IS NULL',
  );
  if (unprocessed.rows.length > 0) problems.push(`unprocessed inbox rows ${show(unprocessed.rows)}`);
  const orphans = await db.query(
    `SELECT i.dedup_key FROM audit_inbox i WHERE NOT EXISTS (SELECT 1 FROM audit_record r WHERE r.dedup_key = i.dedup_key)`,
  );
  if (orphans.rows.length > 0) problems.push(`inbox rows in no chain ${show(orphans.rows.map((r) => r.dedup_key))}`);
  const dups = await db.query(
    'SELECT chain_id, dedup_key, count(*)::int AS n FROM audit_record GROUP BY chain_id, dedup_key HAVING count(*) > 1',
  );
  if (dups.rows.length > 0) problems.push(`duplicate audit rows ${show(dups.rows)}`);
  const seqs = await db.query<{ chain_id: string; n: number; lo: string; hi: string; head: string }>(
    `SELECT c.chain_id, count(r.seq)::int AS n, min(r.seq)::text AS lo, max(r.seq)::text AS hi, c.head_seq::text AS head
       FROM audit_chain c LEFT JOIN audit_record r ON r.chain_id = c.chain_id GROUP BY c.chain_id, c.head_seq`,
  );
  for (const s of seqs.rows) {
    if (s.n === 0) continue;
    if (s.lo !== '1' || Number(s.hi) !== s.n || s.hi !== s.head)
      problems.push(`chain ${s.chain_id}: ${s.n} records, seq ${s.lo}..${s.hi}, head ${s.head} (not gapless)`);
  }
  return problems;
}

async function countBy(db: pg.Pool, sql: string, keys: string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ k: string; n: number }>(sql, [keys]);
  return new Map(rows.map((r) => [r.k, r.n]));
}

export interface VerifierRun {
  code: number | null;
  reports: Array<{ chainId: string; ok: boolean; recordsChecked: number; checkpointsChecked: number }>;
  output: string;
}

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** `tenantgate audit verify --json` as an operator runs it: a separate process, the public key only. */
export async function runVerifier(databaseUrl: string, publicKeyFile: string): Promise<VerifierRun> {
  const args = ['--import', tsx, join(repoRoot, 'packages', 'cli', 'src', 'main.ts'), 'audit', 'verify', '--json'];
  args.push('--no-alert', '--public-key', publicKeyFile, '--database-url', databaseUrl);
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  let reports: VerifierRun['reports'] = [];
  try {
    reports = JSON.parse(stdout) as VerifierRun['reports'];
  } catch {
    // reported through `output`
  }
  return { code, reports, output: `${stdout}${stderr}` };
}

// One step of the pipeline: claim a batch of inbox rows (FOR UPDATE SKIP LOCKED, so several
// auditor processes share the inbox), attribute each event to its tenant chain(s), append, mark
// the rows processed and evaluate the alert rules — all in one transaction — then publish.
import { PROVIDER_CHAIN_ID, isoMillis } from '@tenantgate/audit-core';
import { AuditSourceEvent, type AlertNotification, type Logger } from '@tenantgate/shared';
import { inTransaction, isoSql, type Db, type Tx } from './db.ts';
import type { AppendedRecord, ChainWriter, NewRecord } from './chain-writer.ts';
import type { AlertEngine } from './alerts/engine.ts';
import type { AlertPublisher } from './alerts/publisher.ts';
import type { RuleEvent } from './alerts/types.ts';

interface InboxRow {
  dedup_key: string;
  event_id: string;
  occurred_at: string;
  observed_at: string;
  event: unknown;
}

interface Parsed {
  row: InboxRow;
  event: AuditSourceEvent | null;
  record: NewRecord;
}

export interface BatchResult {
  claimed: number;
  appended: number;
  notifications: number;
  /** Milliseconds per phase (claim, attribute, append, mark, rules), for tuning. */
  timings: Record<string, number>;
}

export class InboxProcessor {
  constructor(
    private readonly deps: {
      db: Db;
      writer: ChainWriter;
      engine: AlertEngine;
      publisher: AlertPublisher;
      logger: Logger;
      batchSize: number;
    },
  ) {}

  async processBatch(): Promise<BatchResult> {
    const { db, publisher } = this.deps;
    const { result, notifications } = await inTransaction(db, async (tx) => await this.#step(tx));
    await publisher.publish(notifications);
    return result;
  }

  async #step(tx: Tx): Promise<{ result: BatchResult; notifications: AlertNotification[] }> {
    const { writer, engine, batchSize } = this.deps;
    const timings: Record<string, number> = {};
    let mark = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      timings[name] = now - mark;
      mark = now;
    };
    // claim and mark processed in one statement; a rollback un-marks (the rows stay locked until then)
    const claimed = await tx.query<InboxRow>(
      `UPDATE audit_inbox i SET processed_at = now(), attempts = i.attempts + 1, last_error = NULL
       FROM (SELECT dedup_key FROM audit_inbox WHERE processed_at IS NULL ORDER BY observed_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
       WHERE i.dedup_key = c.dedup_key
       RETURNING i.dedup_key, i.event_id, ${isoSql('i.occurred_at')} AS occurred_at, ${isoSql('i.observed_at')} AS observed_at, i.event`,
      [batchSize],
    );
    claimed.rows.sort((x, y) => (x.observed_at < y.observed_at ? -1 : x.observed_at > y.observed_at ? 1 : 0));
    if (claimed.rows.length === 0)
      return { result: { claimed: 0, appended: 0, notifications: 0, timings }, notifications: [] };
    lap('claim');
    const parsed = claimed.rows.map((row) => this.#parse(row));
    lap('parse');
    const targets = await attribute(tx, parsed);
    lap('attribute');
    const chains = new Map<string, string | null>();
    const entries: Array<{ chainId: string; record: NewRecord; parsed: Parsed }> = [];
    parsed.forEach((p, i) => {
      for (const tenantId of targets[i]!) {
        const chainId = tenantId ?? PROVIDER_CHAIN_ID;
        chains.set(chainId, tenantId);
        entries.push({ chainId, record: p.record, parsed: p });
      }
    });
    const heads = await writer.lockChains(tx, chains);
    const appended = await writer.append(tx, heads, entries);
    lap('append');
    const byDedup = new Map(parsed.map((p) => [p.row.dedup_key, p]));
    const chainCounts = new Map<string, number>();
    for (const e of entries) chainCounts.set(e.record.dedupKey, (chainCounts.get(e.record.dedupKey) ?? 0) + 1);
    const tags = await guestTags(tx, appended, byDedup);
    const notifications = await engine.evaluate(
      tx,
      appended.map((a) =>
        toRuleEvent(a, byDedup.get(a.dedupKey)?.event ?? null, tags, chainCounts.get(a.dedupKey) ?? 1),
      ),
    );
    lap('rules');
    return {
      result: { claimed: claimed.rows.length, appended: appended.length, notifications: notifications.length, timings },
      notifications,
    };
  }

  /** Contract violations are not dropped: they become provider-chain records holding the raw event. */
  #parse(row: InboxRow): Parsed {
    const res = AuditSourceEvent.safeParse(row.event);
    if (!res.success) {
      const issues = res.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      this.deps.logger.warn(
        { dedupKey: row.dedup_key, issues },
        'inbox event violates its contract; chained as audit.invalid_event',
      );
      return {
        row,
        event: null,
        record: {
          eventId: row.event_id,
          dedupKey: row.dedup_key,
          occurredAt: row.occurred_at,
          observedAt: row.observed_at,
          source: 'audit',
          category: 'audit',
          action: 'audit.invalid_event',
          outcome: 'unknown',
          actorType: 'system',
          actorId: null,
          actorPrincipal: null,
          srcIp: null,
          connectionId: null,
          node: null,
          targetType: null,
          targetId: null,
          targetName: null,
          targetPath: null,
          upid: null,
          requestId: null,
          detection: 'reported',
          payload: { issues, event: row.event as Record<string, unknown> },
        },
      };
    }
    const e = res.data;
    return {
      row,
      event: e,
      record: {
        eventId: e.eventId,
        // the inbox key is the dedup identity (they are equal for well-behaved producers)
        dedupKey: row.dedup_key,
        occurredAt: isoMillis(e.occurredAt),
        observedAt: isoMillis(e.observedAt),
        source: e.source,
        category: e.category,
        action: e.action,
        outcome: e.outcome,
        actorType: e.actor.type,
        actorId: e.actor.id,
        actorPrincipal: e.actor.principal,
        srcIp: e.srcIp,
        connectionId: e.connectionId,
        node: e.node,
        targetType: e.target?.type ?? null,
        targetId: e.target?.id ?? null,
        targetName: e.target?.name ?? null,
        targetPath: e.target?.path ?? null,
        upid: e.upid,
        requestId: e.requestId,
        detection: e.detection,
        payload: e.payload,
      },
    };
  }
}

/**
 * The tenants (null: the provider chain) each event belongs to, by the assignment in force when
 * it occurred: explicit tenantIds (portal events) win; otherwise guest → pool → connection via
 * guest_owner(). A guest moved between pools is attributed to the owners before and after.
 */
export async function attribute(tx: Tx, parsed: readonly Parsed[]): Promise<Array<Array<string | null>>> {
  const explicit = [...new Set(parsed.flatMap((p) => p.event?.tenantIds ?? []))];
  const known = new Set<string>();
  if (explicit.length > 0) {
    const res = await tx.query<{ id: string }>(`SELECT id FROM tenant WHERE id = ANY($1::uuid[])`, [explicit]);
    for (const r of res.rows) known.add(r.id);
  }
  const idx: number[] = [];
  const conn: string[] = [];
  const vmid: Array<number | null> = [];
  const pool: Array<string | null> = [];
  const prevPool: Array<string | null> = [];
  const hasPrev: boolean[] = [];
  const at: string[] = [];
  parsed.forEach((p, i) => {
    const e = p.event;
    if (!e || e.tenantIds.length > 0 || !e.connectionId) return;
    idx.push(i);
    conn.push(e.connectionId);
    vmid.push(e.guest?.vmid ?? null);
    pool.push(e.guest?.pool ?? (e.target?.type === 'pool' ? e.target.id : null));
    hasPrev.push(e.guest?.previousPool !== undefined && e.guest?.previousPool !== e.guest?.pool);
    prevPool.push(e.guest?.previousPool ?? null);
    at.push(p.record.occurredAt);
  });
  const owners = new Map<number, Array<string | null>>();
  if (idx.length > 0) {
    const res = await tx.query<{ i: number; owner: string | null; prev_owner: string | null }>(
      `SELECT t.i, guest_owner(t.c, COALESCE(t.v, -1), t.p, t.a) AS owner,
              CASE WHEN t.hp THEN guest_owner(t.c, COALESCE(t.v, -1), t.pp, t.a) END AS prev_owner
       FROM unnest($1::int[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::bool[], $7::timestamptz[]) AS t(i, c, v, p, pp, hp, a)`,
      [idx, conn, vmid, pool, prevPool, hasPrev, at],
    );
    for (const r of res.rows)
      owners.set(r.i, [...new Set([r.prev_owner, r.owner].filter((x): x is string => x !== null))]);
  }
  return parsed.map((p, i) => {
    const e = p.event;
    if (e && e.tenantIds.length > 0) {
      const valid = [...new Set(e.tenantIds)].filter((t) => known.has(t));
      return valid.length > 0 ? valid : [null];
    }
    const o = owners.get(i);
    return o && o.length > 0 ? o : [null];
  });
}

async function guestTags(
  tx: Tx,
  appended: readonly AppendedRecord[],
  byDedup: Map<string, Parsed>,
): Promise<Map<string, string[]>> {
  const keys = new Map<string, [string, number]>();
  for (const a of appended) {
    const vmid = byDedup.get(a.dedupKey)?.event?.guest?.vmid;
    if (a.connectionId && vmid !== undefined) keys.set(`${a.connectionId}:${vmid}`, [a.connectionId, vmid]);
  }
  const out = new Map<string, string[]>();
  if (keys.size === 0) return out;
  const list = [...keys.values()];
  const res = await tx.query<{ connection_id: string; vmid: number; tags: string[] }>(
    `SELECT g.connection_id, g.vmid, g.tags FROM guest g JOIN unnest($1::uuid[], $2::int[]) AS t(c, v) ON g.connection_id = t.c AND g.vmid = t.v`,
    [list.map((k) => k[0]), list.map((k) => k[1])],
  );
  for (const r of res.rows) out.set(`${r.connection_id}:${r.vmid}`, r.tags);
  return out;
}

function toRuleEvent(
  a: AppendedRecord,
  e: AuditSourceEvent | null,
  tags: Map<string, string[]>,
  chainCount: number,
): RuleEvent {
  const vmid = e?.guest?.vmid ?? null;
  return {
    chainId: a.chainId,
    tenantId: a.tenantId,
    seq: a.seq,
    eventId: a.eventId,
    occurredAt: Date.parse(a.occurredAt),
    source: a.source,
    category: a.category,
    action: a.action,
    outcome: a.outcome,
    actorType: a.actorType,
    actorId: a.actorId,
    actorPrincipal: a.actorPrincipal,
    srcIp: a.srcIp,
    connectionId: a.connectionId,
    node: a.node,
    targetType: a.targetType,
    targetId: a.targetId,
    targetName: a.targetName,
    targetPath: a.targetPath,
    upid: a.upid,
    detection: a.detection,
    payload: a.payload,
    vmid,
    guestTags: vmid !== null && a.connectionId ? (tags.get(`${a.connectionId}:${vmid}`) ?? []) : [],
    chainCount,
  };
}

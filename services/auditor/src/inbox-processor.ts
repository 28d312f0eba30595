// One step of the pipeline: claim a batch of inbox rows (FOR UPDATE SKIP LOCKED, so several
// auditor processes share the inbox), attribute each event to its tenant chain(s), append, mark
// the rows processed and evaluate the alert rules — all in one transaction — then publish.
//
// Poison rows: a batch that fails is redone in a new transaction by bisection under savepoints,
// so every row that can be stored is, and each row that cannot is found and its failure recorded
// (attempts, last_error, retry_at). Such a row is retried alone, never inside a batch again, and
// after `poisonMaxAttempts` failures it is quarantined: chained as an `audit.invalid_event` record
// on the provider chain (the original event sanitised, with the digest of its stored text) and
// AUDIT-002 fires. One bad row can no longer block the others, and nothing is dropped.
import { createHash } from 'node:crypto';
import { PROVIDER_CHAIN_ID, isoMillis } from '@tenantgate/audit-core';
import { AuditSourceEvent, type AlertNotification, type Logger } from '@tenantgate/shared';
import { inTransaction, isoSql, type Db, type Tx } from './db.ts';
import type { AppendedRecord, ChainWriter, NewRecord } from './chain-writer.ts';
import type { AlertEngine } from './alerts/engine.ts';
import type { AlertPublisher } from './alerts/publisher.ts';
import type { AlertStore } from './alerts/store.ts';
import type { Clock, RuleEvent } from './alerts/types.ts';
import { describeError, isRowLevelFailure, sanitizeForJsonb } from './quarantine.ts';

interface InboxRow {
  dedup_key: string;
  event_id: string;
  occurred_at: string;
  observed_at: string;
  /** Including this claim. */
  attempts: number;
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
  /** Rows whose processing failed in this step (retried alone later). */
  failed: number;
  /** Rows chained as `audit.invalid_event` after their last allowed attempt. */
  quarantined: number;
  /** Milliseconds per phase (claim, parse, attribute, append, rules), for tuning. */
  timings: Record<string, number>;
}

interface StepOutcome {
  claimed: number;
  appended: number;
  failed: number;
  quarantined: number;
  notifications: AlertNotification[];
}

const NOTHING: StepOutcome = { claimed: 0, appended: 0, failed: 0, quarantined: 0, notifications: [] };

const CLAIMED_COLUMNS = `i.dedup_key, i.event_id, ${isoSql('i.occurred_at')} AS occurred_at, ${isoSql('i.observed_at')} AS observed_at,
  i.attempts, i.event`;

/** Rows retried alone per step (rows that failed before). */
const RETRIES_PER_STEP = 20;

export interface InboxProcessorDeps {
  db: Db;
  writer: ChainWriter;
  engine: AlertEngine;
  store: AlertStore;
  publisher: AlertPublisher;
  logger: Logger;
  clock: Clock;
  batchSize: number;
  /** Failed attempts after which a row is quarantined (default 3). */
  poisonMaxAttempts?: number;
  /** A failed row is retried after this delay × its attempts (default 10 s). */
  poisonRetryDelayMs?: number;
}

export class InboxProcessor {
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;

  constructor(private readonly deps: InboxProcessorDeps) {
    this.#maxAttempts = deps.poisonMaxAttempts ?? 3;
    this.#retryDelayMs = deps.poisonRetryDelayMs ?? 10_000;
  }

  async processBatch(): Promise<BatchResult> {
    const { db, publisher, logger, batchSize } = this.deps;
    const timings: Record<string, number> = {};
    let mark = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      timings[name] = (timings[name] ?? 0) + now - mark;
      mark = now;
    };
    const retried = await inTransaction(db, async (tx) => {
      const rows = await this.#claimRetries(tx);
      return rows.length === 0 ? NOTHING : await this.#isolate(tx, rows, true);
    });
    lap('retry');
    let batch: StepOutcome;
    try {
      batch = await inTransaction(db, async (tx) => {
        const rows = await this.#claim(tx, batchSize);
        lap('claim');
        if (rows.length === 0) return NOTHING;
        const r = await this.#process(tx, rows, lap);
        return { ...NOTHING, claimed: rows.length, appended: r.appended, notifications: r.notifications };
      });
    } catch (err) {
      if (!isRowLevelFailure(err)) throw err;
      logger.warn({ err }, 'inbox batch failed; redoing it by bisection to isolate the failing rows');
      batch = await inTransaction(db, async (tx) => {
        const rows = await this.#claim(tx, batchSize);
        return rows.length === 0 ? NOTHING : await this.#isolate(tx, rows, false);
      });
      lap('isolate');
    }
    const notifications = [...retried.notifications, ...batch.notifications];
    await publisher.publish(notifications);
    return {
      claimed: retried.claimed + batch.claimed,
      appended: retried.appended + batch.appended,
      notifications: notifications.length,
      failed: retried.failed + batch.failed,
      quarantined: retried.quarantined + batch.quarantined,
      timings,
    };
  }

  /** Claims fresh rows and marks them processed (a rollback un-marks; the rows stay locked until then). */
  async #claim(tx: Tx, limit: number): Promise<InboxRow[]> {
    // joined on ctid: the rows the sub-select locked, without a second index lookup per row
    const res = await tx.query<InboxRow>({
      name: 'auditor-inbox-claim',
      text: `UPDATE audit_inbox i SET processed_at = now(), attempts = i.attempts + 1
       FROM (SELECT ctid FROM audit_inbox WHERE processed_at IS NULL AND retry_at IS NULL ORDER BY observed_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
       WHERE i.ctid = c.ctid
       RETURNING ${CLAIMED_COLUMNS}`,
      values: [limit],
    });
    return res.rows.sort(byObservedAt);
  }

  /** Claims rows whose earlier processing failed and whose retry time has come. */
  async #claimRetries(tx: Tx): Promise<InboxRow[]> {
    const res = await tx.query<InboxRow>({
      name: 'auditor-inbox-claim-retries',
      text: `UPDATE audit_inbox i SET processed_at = now(), attempts = i.attempts + 1, retry_at = NULL
       FROM (SELECT ctid FROM audit_inbox WHERE processed_at IS NULL AND retry_at IS NOT NULL AND retry_at <= now()
             ORDER BY retry_at LIMIT $1 FOR UPDATE SKIP LOCKED) c
       WHERE i.ctid = c.ctid
       RETURNING ${CLAIMED_COLUMNS}`,
      values: [RETRIES_PER_STEP],
    });
    return res.rows.sort(byObservedAt);
  }

  /** Parse → attribute → append → rules for claimed rows, inside the caller's transaction. */
  async #process(
    tx: Tx,
    rows: readonly InboxRow[],
    lap: (phase: string) => void = () => {},
  ): Promise<{ appended: number; notifications: AlertNotification[] }> {
    const { writer, engine } = this.deps;
    const parsed = rows.map((row) => this.#parse(row));
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
    return { appended: appended.length, notifications };
  }

  /**
   * Processes claimed rows so that a failing row cannot take others down: `singly` rows one by one
   * (rows that failed before), otherwise by bisection (halves, quarters, … down to single rows),
   * each piece under a savepoint. Failing single rows are recorded (or quarantined).
   */
  async #isolate(tx: Tx, rows: readonly InboxRow[], singly: boolean): Promise<StepOutcome> {
    const out: StepOutcome = { ...NOTHING, claimed: rows.length, notifications: [] };
    const failures: Array<{ row: InboxRow; error: unknown }> = [];
    const attempt = async (piece: readonly InboxRow[]): Promise<void> => {
      await tx.query('SAVEPOINT inbox_piece');
      try {
        const r = await this.#process(tx, piece);
        await tx.query('RELEASE SAVEPOINT inbox_piece');
        out.appended += r.appended;
        out.notifications.push(...r.notifications);
      } catch (error) {
        if (!isRowLevelFailure(error)) throw error;
        await tx.query('ROLLBACK TO SAVEPOINT inbox_piece');
        await tx.query('RELEASE SAVEPOINT inbox_piece');
        if (piece.length === 1) failures.push({ row: piece[0]!, error });
        else {
          const mid = piece.length >> 1;
          await attempt(piece.slice(0, mid));
          await attempt(piece.slice(mid));
        }
      }
    };
    if (singly) for (const row of rows) await attempt([row]);
    else if (rows.length === 1) await attempt(rows);
    else {
      // the whole batch just failed: start with its halves
      const mid = rows.length >> 1;
      await attempt(rows.slice(0, mid));
      await attempt(rows.slice(mid));
    }
    for (const { row, error } of failures) {
      const message = describeError(error);
      if (row.attempts >= this.#maxAttempts) {
        out.notifications.push(...(await this.#quarantine(tx, row, message)));
        out.quarantined++;
      } else {
        await tx.query(
          `UPDATE audit_inbox SET processed_at = NULL, last_error = $2, retry_at = now() + make_interval(secs => $3::float8 / 1000)
           WHERE dedup_key = $1`,
          [row.dedup_key, message, this.#retryDelayMs * row.attempts],
        );
        out.failed++;
      }
      this.deps.logger.error(
        {
          dedupKey: row.dedup_key,
          attempts: row.attempts,
          error: message,
          quarantined: row.attempts >= this.#maxAttempts,
        },
        'inbox row failed',
      );
    }
    return out;
  }

  /**
   * Chains a row that failed its last allowed attempt as `audit.invalid_event` on the provider
   * chain, so nothing is lost and the chain stays complete, and fires AUDIT-002. The payload holds
   * the original event made storable (NUL escaped), the error, and the SHA-256 of the event as
   * stored in the inbox; if even that cannot be stored, the event is left out (the digest stays).
   */
  async #quarantine(tx: Tx, row: InboxRow, error: string): Promise<AlertNotification[]> {
    const { writer, store, clock } = this.deps;
    const raw = await tx.query<{ text: string }>(`SELECT event::text AS text FROM audit_inbox WHERE dedup_key = $1`, [
      row.dedup_key,
    ]);
    const originalDigest = createHash('sha256')
      .update(raw.rows[0]?.text ?? '', 'utf8')
      .digest('hex');
    const base = {
      reason: 'quarantined',
      error,
      attempts: row.attempts,
      original: { digestAlgorithm: 'sha256', digest: originalDigest, of: 'audit_inbox.event::text' },
    };
    let appended: AppendedRecord | undefined;
    for (const payload of [
      { ...base, event: sanitizeForJsonb(row.event) },
      { ...base, eventOmitted: true },
    ]) {
      await tx.query('SAVEPOINT inbox_quarantine');
      try {
        const heads = await writer.lockChains(tx, new Map([[PROVIDER_CHAIN_ID, null]]));
        [appended] = await writer.append(tx, heads, [
          { chainId: PROVIDER_CHAIN_ID, record: invalidEventRecord(row, payload) },
        ]);
        await tx.query('RELEASE SAVEPOINT inbox_quarantine');
        break;
      } catch (err) {
        if (!isRowLevelFailure(err) || 'eventOmitted' in payload) throw err;
        await tx.query('ROLLBACK TO SAVEPOINT inbox_quarantine');
        await tx.query('RELEASE SAVEPOINT inbox_quarantine');
      }
    }
    // processed_at stays set by the claim: the row is done
    await tx.query(`UPDATE audit_inbox SET last_error = $2, retry_at = NULL WHERE dedup_key = $1`, [
      row.dedup_key,
      error,
    ]);
    const rule = await tx.query<{ id: string; code: string; severity: 'critical' }>(
      `SELECT id, code, severity FROM alert_rule WHERE code = 'AUDIT-002' AND tenant_id IS NULL AND enabled`,
    );
    const r = rule.rows[0];
    if (!r) return [];
    return await store.fire(
      tx,
      { id: r.id, code: r.code },
      null,
      {
        type: 'fire',
        dedupKey: 'quarantine',
        severity: r.severity,
        title: `Audit inbox row quarantined after ${row.attempts} failed attempts (${row.dedup_key})`,
        labels: { dedupKey: row.dedup_key, error, chainId: PROVIDER_CHAIN_ID, seq: appended?.seq ?? null },
      },
      clock.now(),
    );
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
        record: invalidEventRecord(row, { issues, event: row.event as Record<string, unknown> }),
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

function byObservedAt(x: InboxRow, y: InboxRow): number {
  return x.observed_at < y.observed_at ? -1 : x.observed_at > y.observed_at ? 1 : 0;
}

/** An `audit.invalid_event` record for an inbox row (contract violation or quarantine). */
function invalidEventRecord(row: InboxRow, payload: Record<string, unknown>): NewRecord {
  return {
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
    payload,
  };
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
    const assignments = await assignmentsFor(tx, conn, vmid, pool, prevPool, at);
    idx.forEach((i, k) => {
      const atMs = Date.parse(at[k]!);
      const owner = ownerAt(assignments.get(conn[k]!), vmid[k]!, pool[k]!, atMs);
      const prev = hasPrev[k] ? ownerAt(assignments.get(conn[k]!), vmid[k]!, prevPool[k]!, atMs) : null;
      owners.set(i, [...new Set([prev, owner].filter((x): x is string => x !== null))]);
    });
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

interface AssignmentRow {
  connection_id: string;
  kind: 'guest' | 'pool' | 'connection';
  vmid: number | null;
  pool: string | null;
  tenant_id: string;
  /** Epoch milliseconds (fractional: microsecond precision). */
  valid_from: number;
  valid_to: number | null;
}

/**
 * Every assignment that can own one of the batch's events, in one query (a superset: connections
 * × vmids × pools of the batch, valid at some time of the batch); resolved per event by ownerAt.
 */
async function assignmentsFor(
  tx: Tx,
  conn: readonly string[],
  vmid: ReadonlyArray<number | null>,
  pool: ReadonlyArray<string | null>,
  prevPool: ReadonlyArray<string | null>,
  at: readonly string[],
): Promise<Map<string, AssignmentRow[]>> {
  let min = at[0]!;
  let max = at[0]!;
  for (const t of at) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const res = await tx.query<AssignmentRow>({
    name: 'auditor-attribution-assignments',
    text: `SELECT connection_id, kind, vmid, pool, tenant_id, extract(epoch FROM valid_from)::float8 * 1000 AS valid_from,
         extract(epoch FROM valid_to)::float8 * 1000 AS valid_to
       FROM assignment
       WHERE connection_id = ANY($1::uuid[]) AND valid_from <= $3::timestamptz AND (valid_to IS NULL OR valid_to > $2::timestamptz)
         AND (kind = 'connection' OR (kind = 'guest' AND vmid = ANY($4::int[])) OR (kind = 'pool' AND pool = ANY($5::text[])))`,
    values: [
      [...new Set(conn)],
      min,
      max,
      [...new Set(vmid.filter((v): v is number => v !== null))],
      [...new Set([...pool, ...prevPool].filter((p): p is string => p !== null))],
    ],
  });
  const out = new Map<string, AssignmentRow[]>();
  for (const r of res.rows) {
    const list = out.get(r.connection_id);
    if (list) list.push(r);
    else out.set(r.connection_id, [r]);
  }
  return out;
}

/**
 * The owner at `atMs` with guest_owner()'s precedence: guest › pool › connection assignment in
 * force then (valid_from ≤ at < valid_to); among equals, the latest valid_from.
 */
function ownerAt(
  candidates: readonly AssignmentRow[] | undefined,
  vmid: number | null,
  pool: string | null,
  atMs: number,
): string | null {
  let best: AssignmentRow | null = null;
  let bestRank = 4;
  for (const a of candidates ?? []) {
    if (a.valid_from > atMs || (a.valid_to !== null && a.valid_to <= atMs)) continue;
    const rank =
      a.kind === 'guest'
        ? vmid !== null && a.vmid === vmid
          ? 1
          : 4
        : a.kind === 'pool'
          ? pool !== null && a.pool === pool
            ? 2
            : 4
          : 3;
    if (rank < bestRank || (rank === bestRank && best !== null && a.valid_from > best.valid_from)) {
      best = a;
      bestRank = rank;
    }
  }
  return bestRank < 4 ? best!.tenant_id : null;
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

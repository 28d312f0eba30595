// Attribution of PVE tasks to the portal users who started them (GUIDE §1). The gateway records
// its intent (portal_action without a UPID) before it calls PVE, and the UPID after PVE answered.
// A poll can fall between the two: the task is then listed, but no portal_action names its UPID
// yet. Such a task — run by this connection's own token, on a guest with an open intent of a
// matching action — is deferred (not recorded, watermark held) until the gateway records the UPID,
// for at most PORTAL_ATTRIBUTION_WAIT_S. An intent still without a UPID after that (the gateway
// died between PVE's answer and its write) is matched by guest, action and time window instead,
// and the match is written back to portal_action so it is used once.
import { AppError, ErrorCode } from '@tenantgate/shared';
import type { Sql } from '../sql.ts';
import type { PortalActionRef, TaskInfo } from './task-events.ts';
import { taskVmid } from './task-events.ts';

/** PVE task types each portal power action creates (api-shapes.md, power actions; HA variants). */
const TASK_TYPES: Record<string, readonly string[]> = {
  start: ['qmstart', 'vzstart', 'hastart'],
  stop: ['qmstop', 'vzstop', 'hastop'],
  shutdown: ['qmshutdown', 'vzshutdown', 'hastop'],
  reboot: ['qmreboot', 'vzreboot'],
  suspend: ['qmsuspend', 'qmpause', 'vzsuspend'],
  resume: ['qmresume', 'vzresume'],
};

/** A task may start this long before its intent's row time (clock skew between PVE and Postgres). */
const SKEW_S = 60;
/** …and at most this long after it (the gateway's PVE call, including its timeout). */
const MAX_CALL_S = 600;

interface Intent extends PortalActionRef {
  vmid: number;
  action: string;
  createdAt: number;
  /** The gateway's PVE call failed (e.g. timed out): no UPID will come, but PVE may have started the task. */
  failed: boolean;
}

export type Attribution =
  { kind: 'portal'; ref: PortalActionRef; via: 'upid' | 'intent-window' } | { kind: 'defer' } | { kind: 'none' };

export class PortalCorrelation {
  readonly #byUpid: Map<string, PortalActionRef>;
  readonly #pending: Intent[];
  readonly #dbNow: number;
  readonly #tokenId: string;
  readonly #waitS: number;
  /** Stale intents matched in this poll: written back in the poll's transaction. */
  readonly claimed = new Map<string, string>();

  private constructor(
    byUpid: Map<string, PortalActionRef>,
    pending: Intent[],
    dbNow: number,
    tokenId: string,
    waitS: number,
  ) {
    this.#byUpid = byUpid;
    this.#pending = pending;
    this.#dbNow = dbNow;
    this.#tokenId = tokenId;
    this.#waitS = waitS;
  }

  /**
   * Reads, in ONE statement (one snapshot), the portal actions naming one of `upids` and the open
   * intents of the connection: an intent whose UPID the gateway records concurrently is seen either
   * with its UPID or still open, never as neither.
   */
  static async load(
    sql: Sql,
    connectionId: string,
    tokenId: string,
    upids: string[],
    waitS: number,
  ): Promise<PortalCorrelation> {
    const rows = await sql.query<{
      request_id: string;
      user_id: string;
      tenant_id: string;
      vmid: number;
      action: string;
      upid: string | null;
      failed: boolean;
      created: string;
      now: string;
    }>(
      `SELECT request_id, user_id, tenant_id, vmid, action, upid, error IS NOT NULL AS failed, extract(epoch FROM created_at)::float8 AS created,
              extract(epoch FROM now())::float8 AS now
         FROM portal_action
        WHERE connection_id = $1
          AND (upid = ANY($2::text[]) OR (upid IS NULL AND created_at > now() - make_interval(secs => $3)))`,
      [connectionId, upids, MAX_CALL_S + SKEW_S + waitS + 86_400],
    );
    const byUpid = new Map<string, PortalActionRef>();
    const pending: Intent[] = [];
    let dbNow = Date.now() / 1000;
    for (const r of rows) {
      dbNow = Number(r.now);
      const ref = { requestId: r.request_id, userId: r.user_id, tenantId: r.tenant_id };
      if (r.upid !== null) byUpid.set(r.upid, ref);
      else pending.push({ ...ref, vmid: r.vmid, action: r.action, createdAt: Number(r.created), failed: r.failed });
    }
    pending.sort((a, b) => a.createdAt - b.createdAt || a.requestId.localeCompare(b.requestId));
    return new PortalCorrelation(byUpid, pending, dbNow, tokenId, waitS);
  }

  /** Who started `task`, or that it must wait for the gateway to record its UPID. */
  attribute(task: TaskInfo): Attribution {
    const byUpid = this.#byUpid.get(task.upid);
    if (byUpid) return { kind: 'portal', ref: byUpid, via: 'upid' };
    const vmid = taskVmid(task.id);
    if (task.authId !== this.#tokenId || vmid === null) return { kind: 'none' };
    const candidates = this.#pending.filter(
      (p) =>
        p.vmid === vmid &&
        !this.claimed.has(p.requestId) &&
        (TASK_TYPES[p.action] ?? []).includes(task.type) &&
        p.createdAt <= task.starttime + SKEW_S &&
        p.createdAt >= task.starttime - MAX_CALL_S,
    );
    if (candidates.length === 0) return { kind: 'none' };
    if (candidates.some((p) => !p.failed && this.#dbNow - p.createdAt < this.#waitS)) return { kind: 'defer' };
    // No candidate will get a UPID any more (stale, or the gateway's call failed after PVE got it). The earliest intent
    // belongs to the earliest task (intents and tasks of one guest are ordered the same way).
    const chosen = candidates[0]!;
    this.claimed.set(chosen.requestId, task.upid);
    return {
      kind: 'portal',
      ref: { requestId: chosen.requestId, userId: chosen.userId, tenantId: chosen.tenantId },
      via: 'intent-window',
    };
  }

  /** Writes the stale-intent matches back (inside the poll's transaction), each intent once. */
  async writeClaims(sql: Sql): Promise<void> {
    if (this.claimed.size === 0) return;
    const updated = await sql.exec(
      `UPDATE portal_action p SET upid = c.upid
         FROM jsonb_to_recordset($1::jsonb) AS c(request_id uuid, upid text)
        WHERE p.request_id = c.request_id AND p.upid IS NULL`,
      [JSON.stringify([...this.claimed].map(([request_id, upid]) => ({ request_id, upid })))],
    );
    // The gateway recorded a UPID meanwhile: roll the poll back; the next one reads it by UPID.
    if (updated !== this.claimed.size) {
      throw new AppError(ErrorCode.SYNC_CURSOR_CONFLICT, 'a portal action was recorded while it was being matched', {
        claimed: this.claimed.size,
        updated,
      });
    }
  }
}

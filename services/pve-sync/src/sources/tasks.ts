// Node task source (GUIDE §2): per node, `/nodes/{node}/tasks?source=all&since=<watermark>` paged
// with start/limit and checked against `total`; running tasks that fall behind the watermark are
// followed through /tasks/{upid}/status until they end. One cursor per node (`tasks:<node>`); the
// nodes of a batch commit together with their pve_task rows and inbox rows.
import { AppError, ErrorCode, type AuditSourceEvent } from '@tenantgate/shared';
import type { NodeTask, PveApi } from '../pve-api.ts';
import { buildEvent } from '../events.ts';
import { commitSources, cursorOf, loadCursors, type CursorAdvance } from '../store.ts';
import { sqlOf } from '../sql.ts';
import type { SourceContext, SourceFailure, SourceOutcome } from '../source-context.ts';
import type { GuestState } from './inventory-diff.ts';
import { PortalCorrelation } from './portal-correlation.ts';
import { taskEvent, taskOutcome, taskVmid, type TaskInfo } from './task-events.ts';
import { failureOf } from '../failures.ts';

export const taskSource = (node: string): string => `tasks:${node}`;

const PAGE_ATTEMPTS = 3;

export function taskInfo(t: NodeTask): TaskInfo {
  const finished = t.endtime !== undefined && t.status !== undefined && t.status.toUpperCase() !== 'RUNNING';
  return {
    upid: t.upid,
    node: t.node,
    type: t.type,
    id: t.id,
    authId: t.tokenid ? `${t.user}!${t.tokenid}` : t.user,
    starttime: t.starttime,
    endtime: finished ? (t.endtime ?? null) : null,
    status: finished ? (t.status ?? null) : null,
  };
}

/**
 * Reads every task of `node` with starttime ≥ `since`. Pages until `total`; when the list shifted
 * under the pager (total changed, or fewer distinct tasks than `total`), it starts over.
 */
export async function listNodeTasks(
  api: PveApi,
  node: string,
  since: number | undefined,
  pageSize: number,
): Promise<NodeTask[]> {
  for (let attempt = 0; attempt < PAGE_ATTEMPTS; attempt++) {
    const seen = new Map<string, NodeTask>();
    let total: number | undefined;
    let stable = true;
    let start = 0;
    for (;;) {
      const page = await api.nodeTasks(node, {
        ...(since !== undefined ? { since } : {}),
        start,
        limit: pageSize,
        source: 'all',
      });
      if (total !== undefined && page.total !== total) stable = false;
      total = page.total;
      for (const t of page.data) {
        const prev = seen.get(t.upid);
        if (!prev || (prev.endtime === undefined && t.endtime !== undefined)) seen.set(t.upid, t);
      }
      start += page.data.length;
      if (page.data.length === 0 || start >= page.total) break;
    }
    if (stable && seen.size >= (total ?? 0)) return [...seen.values()];
  }
  throw new AppError(ErrorCode.SYNC_SOURCE_INCONSISTENT, `task list of node ${node} kept changing while it was paged`, {
    node,
  });
}

/** The current state of a running task that is older than the listing window. */
async function followRunning(
  api: PveApi,
  node: string,
  upid: string,
  starttime: number,
): Promise<{ endtime: number; status: string } | null> {
  const st = await api.taskStatus(node, upid);
  if (st.status === 'running') return null;
  // The status endpoint has no end time; the list entry of that exact start second has it.
  const listed = await api.nodeTasks(node, { since: starttime, until: starttime, limit: 1000, source: 'all' });
  const item = listed.data.find((t) => t.upid === upid);
  return {
    endtime: item?.endtime ?? Math.floor(Date.now() / 1000),
    status:
      item?.status && item.status.toUpperCase() !== 'RUNNING' ? item.status : (st.exitstatus ?? 'unexpected status'),
  };
}

interface NodeResult {
  node: string;
  tasks: TaskInfo[];
  /** Running tasks behind the window that have now ended. */
  ended: TaskInfo[];
  nextSince: number | undefined;
  expected: number;
  /** Tasks held back for the gateway to record their UPID (portal-correlation.ts). */
  deferred: number;
}

export async function syncTasks(
  ctx: SourceContext,
  nodes: Map<string, string>,
  guests: Map<number, GuestState>,
): Promise<SourceOutcome> {
  const outcome: SourceOutcome = { failures: [], succeeded: [], inserted: 0 };
  const cursors = await loadCursors(ctx.em, ctx.connectionId, 'tasks:');
  // An offline node cannot answer; its watermark waits until it is back (gap-free catch-up).
  const polled = [...nodes]
    .filter(([, status]) => status !== 'offline')
    .map(([n]) => n)
    .sort();
  for (let i = 0; i < polled.length; i += ctx.settings.TASK_NODE_BATCH) {
    const batch = polled.slice(i, i + ctx.settings.TASK_NODE_BATCH);
    const r = await syncTaskBatch(ctx, batch, cursors, guests);
    outcome.failures.push(...r.failures);
    outcome.succeeded.push(...r.succeeded);
    outcome.inserted += r.inserted;
  }
  return outcome;
}

async function syncTaskBatch(
  ctx: SourceContext,
  batch: string[],
  cursors: Awaited<ReturnType<typeof loadCursors>>,
  guests: Map<number, GuestState>,
): Promise<SourceOutcome> {
  const sql = sqlOf(ctx.em);
  const runningRows = await sql.query<{
    upid: string;
    node: string;
    starttime: string;
    type: string;
    task_id: string;
    pve_user: string;
    token_id: string | null;
  }>(
    `SELECT upid, node, extract(epoch FROM starttime)::bigint AS starttime, type, task_id, pve_user, token_id FROM pve_task
      WHERE connection_id = $1 AND outcome = 'running' AND node = ANY($2::text[])`,
    [ctx.connectionId, batch],
  );
  const failures: SourceFailure[] = [];
  const settled = await Promise.allSettled(
    batch.map(async (node): Promise<NodeResult> => {
      const cursor = cursorOf(cursors, taskSource(node));
      const prevSince = typeof cursor.since === 'number' ? cursor.since : undefined;
      const since = prevSince === undefined ? undefined : Math.max(0, prevSince - ctx.settings.TASK_OVERLAP_S);
      const listed = await listNodeTasks(ctx.api, node, since, ctx.settings.TASK_PAGE_SIZE);
      const tasks = listed.map(taskInfo);
      const listedUpids = new Set(tasks.map((t) => t.upid));
      const ended: TaskInfo[] = [];
      for (const row of runningRows) {
        if (row.node !== node || listedUpids.has(row.upid)) continue;
        const starttime = Number(row.starttime);
        const end = await followRunning(ctx.api, node, row.upid, starttime);
        if (!end) continue;
        ended.push({
          upid: row.upid,
          node,
          type: row.type,
          id: row.task_id,
          authId: row.token_id ?? row.pve_user,
          starttime,
          endtime: end.endtime,
          status: end.status,
        });
      }
      const maxStart = tasks.reduce((m, t) => Math.max(m, t.starttime), prevSince ?? 0);
      return {
        node,
        tasks,
        ended,
        nextSince: tasks.length > 0 || prevSince !== undefined ? maxStart : undefined,
        expected: cursor.v,
        deferred: 0,
      };
    }),
  );
  const results: NodeResult[] = [];
  settled.forEach((s, idx) => {
    const node = batch[idx] as string;
    if (s.status === 'fulfilled') results.push(s.value);
    else failures.push(failureOf(taskSource(node), s.reason));
  });
  if (results.length === 0) return { failures, succeeded: [], inserted: 0 };

  const allUpids = results.flatMap((r) => [...r.tasks, ...r.ended].map((t) => t.upid));
  const known = new Map(
    (
      await sql.query<{ upid: string; outcome: string }>(
        `SELECT upid, outcome FROM pve_task WHERE upid = ANY($1::text[])`,
        [allUpids],
      )
    ).map((r) => [r.upid, r.outcome]),
  );
  const portal = await PortalCorrelation.load(
    sql,
    ctx.connectionId,
    ctx.tokenId,
    allUpids,
    ctx.settings.PORTAL_ATTRIBUTION_WAIT_S,
  );

  const observed = ctx.now();
  const events: AuditSourceEvent[] = [];
  const rows: Array<Record<string, unknown>> = [];
  for (const r of results) {
    for (const t of [...r.tasks, ...r.ended]) {
      const before = known.get(t.upid);
      const attribution = portal.attribute(t);
      if (attribution.kind === 'defer') {
        // Started from the portal, UPID not recorded yet: list it again next poll.
        if (r.nextSince !== undefined) r.nextSince = Math.min(r.nextSince, t.starttime);
        r.deferred++;
        continue;
      }
      const finished = t.status !== null;
      if (before !== undefined && before !== 'running') continue; // already final
      if (before !== undefined && !finished) continue; // still running, already recorded
      const vmid = taskVmid(t.id);
      const g = vmid !== null ? guests.get(vmid) : undefined;
      const gref = g ? { pool: g.pool, name: g.name } : undefined;
      const p = attribution.kind === 'portal' ? attribution.ref : undefined;
      // `started` is reported for a task seen running; a task first seen finished is one record
      // (its finished event carries the start time), whenever it is polled.
      if (before === undefined && !finished)
        events.push(buildEvent(taskEvent(ctx.connectionId, t, 'started', gref, p), observed));
      if (finished) events.push(buildEvent(taskEvent(ctx.connectionId, t, 'finished', gref, p), observed));
      const [user, token] = t.authId.includes('!')
        ? [t.authId.slice(0, t.authId.indexOf('!')), t.authId]
        : [t.authId, null];
      rows.push({
        upid: t.upid,
        node: t.node,
        type: t.type,
        task_id: t.id,
        vmid,
        pve_user: user,
        token_id: token,
        starttime: new Date(t.starttime * 1000).toISOString(),
        endtime: t.endtime !== null ? new Date(t.endtime * 1000).toISOString() : null,
        status: t.status,
        outcome: taskOutcome(t.status),
        portal_user_id: p?.userId ?? null,
        portal_tenant_id: p?.tenantId ?? null,
        request_id: p?.requestId ?? null,
      });
    }
  }
  const advances: CursorAdvance[] = results.map((r) => ({
    source: taskSource(r.node),
    expected: r.expected,
    next: r.nextSince === undefined ? {} : { since: r.nextSince },
  }));
  try {
    const { inserted, commitKey } = await commitSources(ctx.em, ctx.connectionId, advances, events, async (tx) => {
      await portal.writeClaims(tx);
      for (let i = 0; i < rows.length; i += 2000) {
        await tx.exec(
          `INSERT INTO pve_task AS t (upid, connection_id, node, type, task_id, vmid, pve_user, token_id, starttime, endtime, status,
                                      outcome, portal_user_id, portal_tenant_id, request_id)
           SELECT r.upid, $1, r.node, r.type, r.task_id, r.vmid, r.pve_user, r.token_id, r.starttime, r.endtime, r.status,
                  r.outcome, r.portal_user_id, r.portal_tenant_id, r.request_id
             FROM jsonb_to_recordset($2::jsonb) AS r(upid text, node text, type text, task_id text, vmid int, pve_user text,
                  token_id text, starttime timestamptz, endtime timestamptz, status text, outcome text, portal_user_id uuid,
                  portal_tenant_id uuid, request_id uuid)
           ON CONFLICT (upid) DO UPDATE
              SET endtime = EXCLUDED.endtime, status = EXCLUDED.status, outcome = EXCLUDED.outcome, updated_at = now()
            WHERE t.outcome = 'running'`,
          [ctx.connectionId, JSON.stringify(rows.slice(i, i + 2000))],
        );
      }
    });
    if (inserted > 0) await ctx.onCommitted('tasks', inserted, commitKey);
    return { failures, succeeded: advances.map((a) => a.source), inserted };
  } catch (err) {
    return { failures: [...failures, ...advances.map((a) => failureOf(a.source, err))], succeeded: [], inserted: 0 };
  }
}

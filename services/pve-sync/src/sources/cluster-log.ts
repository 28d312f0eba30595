// Cluster log source: successful logins and other cluster messages (GUIDE §2), deduplicated by
// `uid:node` (plus time, since uids restart with pmxcfs), with ring-buffer loss detected and raised
// as a sync gap (SYNC-001).
import type { AuditSourceEvent } from '@tenantgate/shared';
import type { ClusterLogEntry } from '../pve-api.ts';
import {
  actionPart,
  buildEvent,
  dedupKey,
  gapEvent,
  isoFromEpoch,
  pveActor,
  successKey,
  type EventDraft,
} from '../events.ts';
import { commitSources, cursorOf, loadCursors } from '../store.ts';
import type { SourceContext, SourceOutcome } from '../source-context.ts';
import { clusterLogWindow, type ClusterLogGap, type LastSeen, type NodeMark } from './cluster-log-window.ts';

export const CLUSTER_LOG_SOURCE = 'cluster-log';

/** Entries read first on a steady-state poll. */
const STEADY_WINDOW = 200;

const SUCCESSFUL_AUTH = /^successful (openid )?auth for user '([^']+)'$/;
const TASK_MESSAGE = /^(starting task|end task) UPID:/;

export function clusterLogEvent(connectionId: string, e: ClusterLogEntry): EventDraft | null {
  // Task start/end messages repeat what the task source reports from the node task lists.
  if (TASK_MESSAGE.test(e.msg)) return null;
  const base = {
    dedupKey: dedupKey(connectionId, 'clog', `${e.uid}:${e.node}`, e.time),
    source: 'pve.cluster-log' as const,
    connectionId,
    occurredAt: isoFromEpoch(e.time),
    node: e.node,
    detection: 'reported' as const,
    payload: { uid: e.uid, pri: e.pri, tag: e.tag, pid: e.pid, user: e.user, msg: e.msg },
  };
  const auth = SUCCESSFUL_AUTH.exec(e.msg);
  if (auth) {
    const user = auth[2] as string;
    return {
      ...base,
      // Shared with the journal line of the same login, so the two sources give one event.
      dedupKey: successKey(connectionId, e.node, user, e.time),
      category: 'auth',
      action: auth[1] ? 'auth.openid_login_succeeded' : 'auth.login_succeeded',
      outcome: 'success',
      actor: pveActor(user),
      target: { type: 'pve-user', id: user, name: null, path: `/access/users/${user}` },
    };
  }
  return {
    ...base,
    category: 'cluster_log',
    action: `cluster_log.${actionPart(e.tag)}`,
    outcome: e.pri <= 3 ? 'failure' : 'unknown',
    actor: pveActor(e.user),
  };
}

export async function syncClusterLog(ctx: SourceContext): Promise<SourceOutcome> {
  const cursor = cursorOf(await loadCursors(ctx.em, ctx.connectionId, CLUSTER_LOG_SOURCE), CLUSTER_LOG_SOURCE);
  const last = (cursor.lastSeen ?? null) as LastSeen | null;
  // Steady state reads a small window first; only when it does not reach back to the last entry
  // read does it read as much as the ring holds. The cost follows the new entries, not the ring.
  const small = Math.min(STEADY_WINDOW, ctx.settings.CLUSTER_LOG_MAX);
  let entries = await ctx.api.clusterLog(last ? small : ctx.settings.CLUSTER_LOG_MAX);
  const reaches = (list: ClusterLogEntry[]): boolean =>
    list.some((e) => e.node === last?.node && e.uid === last.uid && e.time === last.time);
  if (last && entries.length >= small && !reaches(entries))
    entries = await ctx.api.clusterLog(ctx.settings.CLUSTER_LOG_MAX);
  const marks = (cursor.nodes ?? {}) as Record<string, NodeMark>;
  const window = clusterLogWindow(entries, marks, last);
  const observed = ctx.now();
  const drafts: EventDraft[] = [];
  for (const e of window.fresh) {
    const d = clusterLogEvent(ctx.connectionId, e);
    if (d) drafts.push(d);
  }
  for (const g of window.gaps) drafts.push(gapEvent(ctx.connectionId, CLUSTER_LOG_SOURCE, clusterGap(g)));
  if (window.wrapped && window.gaps.length === 0 && cursor.lastSeen) {
    // The ring turned over since the last poll: entries were lost, how many cannot be told.
    const last = cursor.lastSeen as LastSeen;
    drafts.push(
      gapEvent(ctx.connectionId, CLUSTER_LOG_SOURCE, {
        node: last.node,
        key: `wrap-${last.uid}-${last.time}`,
        at: observed.toISOString(),
        payload: { reason: 'ring buffer wrapped past the last entry read', missing: null, lastSeen: last },
      }),
    );
  }
  if (window.gaps.length > 0)
    ctx.logger.warn({ gaps: window.gaps, wrapped: window.wrapped }, 'cluster log entries were lost');
  const events: AuditSourceEvent[] = drafts.map((d) => buildEvent(d, observed));
  const { inserted, commitKey } = await commitSources(
    ctx.em,
    ctx.connectionId,
    [{ source: CLUSTER_LOG_SOURCE, expected: cursor.v, next: { nodes: window.marks, lastSeen: window.lastSeen } }],
    events,
  );
  if (inserted > 0) await ctx.onCommitted(CLUSTER_LOG_SOURCE, inserted, commitKey);
  return { failures: [], succeeded: [CLUSTER_LOG_SOURCE], inserted };
}

function clusterGap(g: ClusterLogGap): { node: string; key: string; at: string; payload: Record<string, unknown> } {
  return {
    node: g.node,
    key: `${g.afterUid}-${g.nextUid}-${g.time}`,
    at: isoFromEpoch(g.time),
    payload: { afterUid: g.afterUid, nextUid: g.nextUid, missing: g.missing },
  };
}

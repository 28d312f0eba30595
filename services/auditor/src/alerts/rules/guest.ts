// VM-001 guest destroyed, BKP-001 backup failed, TASK-002 guest task failed, TEN-001 guest moved.
import { z } from 'zod';
import type { RuleDefinition, RuleEvent } from '../types.ts';

const guestKey = (e: RuleEvent) => `${e.connectionId ?? '-'}:${e.vmid ?? e.targetId ?? '-'}`;
const taskType = (e: RuleEvent) => (e.action.startsWith('task.') ? e.action.slice(5) : null);

const NoParams = z.object({});

type DestroyState = {
  destroyTaskAt: number | null;
  /** When the inventory diff reported the guest gone with no destroy task known (alert raised as high). */
  vanishedAt?: number | null;
};
const CORRELATION_MS = 3_600_000;

/**
 * VM-001: a guest destroyed by a destroy task (low), or vanished from the inventory without one
 * (high). pve-sync reports the diff (`guest.deleted`, no UPID) and the task from one poll or
 * adjacent polls in either order, so the state per guest remembers both: a diff after the task
 * is recognised as expected, and a task that arrives within the correlation window after a diff
 * re-classifies the open `high` alert as `low` (a `reclassify` signal, an alert event of its own).
 */
export const guestDestroyed: RuleDefinition<Record<string, never>, DestroyState> = {
  kind: 'guest_destroyed',
  params: NoParams as unknown as z.ZodType<Record<string, never>>,
  select: (e) =>
    ((e.action === 'task.qmdestroy' || e.action === 'task.vzdestroy') && e.outcome === 'success') ||
    e.action === 'guest.deleted'
      ? `guest:${guestKey(e)}`
      : null,
  evaluate(state, e) {
    const name = e.targetName ? ` (${e.targetName})` : '';
    const guest = `Guest ${e.vmid ?? e.targetId}${name}`;
    const dedupKey = `guest:${guestKey(e)}`;
    const within = (a: number | null | undefined, b: number) => a != null && Math.abs(a - b) <= CORRELATION_MS;
    const labels = { vmid: e.vmid, node: e.node, upid: e.upid, actor: e.actorId };
    if (e.action.startsWith('task.')) {
      const nextState = { destroyTaskAt: e.occurredAt, vanishedAt: null };
      if (within(state?.vanishedAt, e.occurredAt))
        return {
          state: nextState,
          signals: [
            {
              type: 'reclassify',
              dedupKey,
              severity: 'low',
              title: `${guest} destroyed`,
              labels,
              note: `destroy task ${e.upid ?? '?'} arrived after the inventory diff: expected destruction, high → low`,
            },
          ],
        };
      return {
        state: nextState,
        signals: [{ type: 'fire', dedupKey, severity: 'low', title: `${guest} destroyed`, labels }],
      };
    }
    const taskAt = state?.destroyTaskAt ?? null;
    const vanished = e.upid === null && !within(taskAt, e.occurredAt);
    return {
      state: { destroyTaskAt: taskAt, vanishedAt: vanished ? e.occurredAt : (state?.vanishedAt ?? null) },
      signals: [
        {
          type: 'fire',
          dedupKey,
          severity: vanished ? 'high' : 'low',
          title: vanished ? `${guest} vanished without a destroy task` : `${guest} destroyed`,
          labels,
        },
      ],
    };
  },
};

/** BKP-001: a failed vzdump task; resolved by the next successful backup of the same guest/node. */
export const backupFailed: RuleDefinition<Record<string, never>, null> = {
  kind: 'backup_failed',
  params: NoParams as unknown as z.ZodType<Record<string, never>>,
  select: (e) => (e.action === 'task.vzdump' && e.outcome !== 'unknown' ? 'stateless' : null),
  evaluate(_s, e, { severity }) {
    const dedupKey =
      e.vmid !== null ? `backup:${guestKey(e)}` : `backup:${e.connectionId ?? '-'}:node:${e.node ?? '-'}`;
    if (e.outcome === 'success')
      return {
        state: null,
        signals: [{ type: 'resolve', dedupKey, note: `backup succeeded (${e.upid ?? 'no upid'})` }],
      };
    const status = typeof e.payload['status'] === 'string' ? `: ${e.payload['status']}` : '';
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey,
          severity,
          title: `Backup failed for ${e.vmid !== null ? `guest ${e.vmid}` : `node ${e.node}`}${status}`,
          labels: { vmid: e.vmid, node: e.node, upid: e.upid },
        },
      ],
    };
  },
};

/** TASK-002: a failed task on a guest; resolved by the next successful task of that type on it. */
export const guestTaskFailed: RuleDefinition<{ ignoreTypes: string[] }, null> = {
  kind: 'guest_task_failed',
  params: z.object({ ignoreTypes: z.array(z.string()).default([]) }),
  select: (e, p) => {
    const type = taskType(e);
    return type !== null && e.vmid !== null && e.outcome !== 'unknown' && !p.ignoreTypes.includes(type)
      ? 'stateless'
      : null;
  },
  evaluate(_s, e, { severity }) {
    const type = taskType(e) ?? '?';
    const dedupKey = `task:${guestKey(e)}:${type}`;
    if (e.outcome === 'success')
      return {
        state: null,
        signals: [{ type: 'resolve', dedupKey, note: `${type} succeeded (${e.upid ?? 'no upid'})` }],
      };
    const status = typeof e.payload['status'] === 'string' ? `: ${e.payload['status']}` : '';
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey,
          severity,
          title: `Task ${type} failed on guest ${e.vmid}${e.targetName ? ` (${e.targetName})` : ''}${status}`,
          labels: { vmid: e.vmid, node: e.node, upid: e.upid, taskType: type, actor: e.actorId },
        },
      ],
    };
  },
};

/** Moves that are tenant changes by definition (the gateway's reassignment, written to both tenants). */
const MOVE_ACTIONS = new Set(['assignment.moved', 'assignment.guest_moved', 'guest.moved', 'guest.reassigned']);
/** A pool move is a tenant change only when it was attributed to two tenants. */
const POOL_MOVE_ACTIONS = new Set(['guest.moved_pool']);

/** TEN-001: a guest moved between tenants (written to both tenants' chains, so both are alerted). */
export const guestMoved: RuleDefinition<Record<string, never>, null> = {
  kind: 'guest_moved',
  params: NoParams as unknown as z.ZodType<Record<string, never>>,
  select: (e) =>
    MOVE_ACTIONS.has(e.action) || (POOL_MOVE_ACTIONS.has(e.action) && e.chainCount > 1) ? 'stateless' : null,
  evaluate(_s, e, { severity }) {
    return {
      state: null,
      signals: [
        {
          type: 'fire',
          dedupKey: `move:${guestKey(e)}:${e.eventId}`,
          severity,
          title: `${e.targetType === 'pool' ? 'Pool' : 'Guest'} ${e.vmid ?? e.targetId ?? '?'} moved between tenants`,
          labels: {
            vmid: e.vmid,
            from: e.payload['fromTenantId'] ?? null,
            to: e.payload['toTenantId'] ?? null,
            actor: e.actorId,
          },
        },
      ],
    };
  },
};

// Task transitions → audit events (dedup `UPID:phase`, GUIDE §4) and pve_task rows.
import type { EventDraft } from '../events.ts';
import { actionPart, dedupKey, isoFromEpoch, pveActor } from '../events.ts';

export type TaskOutcome = 'running' | 'ok' | 'warning' | 'error' | 'unknown';

/** A task as pve-sync tracks it, decoded from the list item and its UPID. */
export interface TaskInfo {
  upid: string;
  node: string;
  type: string;
  /** The UPID id field ('' when none). */
  id: string;
  /** user@realm or user@realm!token. */
  authId: string;
  starttime: number;
  endtime: number | null;
  /** PVE's status text once finished ("OK", "WARNINGS: n", the error text); null while running. */
  status: string | null;
}

/** The portal action that started a task (GUIDE §1: the later-synced task is attributed to the real person). */
export interface PortalActionRef {
  requestId: string;
  userId: string;
  tenantId: string;
}

/** PVE's status normalisation (formats.md §1.4); null status = still running. */
export function taskOutcome(status: string | null): TaskOutcome {
  if (status === null) return 'running';
  if (status === '' || status === 'unexpected status') return 'unknown';
  if (status === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(status)) return 'warning';
  return 'error';
}

/** The vmid a task acts on, when its id is one (PVE vmids are 100..999999999). */
export function taskVmid(id: string): number | null {
  if (!/^\d{3,9}$/.test(id)) return null;
  const n = Number(id);
  return n >= 100 ? n : null;
}

export function taskEvent(
  connectionId: string,
  task: TaskInfo,
  phase: 'started' | 'finished',
  guest: { pool: string | null; name: string | null } | undefined,
  portal: PortalActionRef | undefined,
): EventDraft {
  const vmid = taskVmid(task.id);
  const outcome =
    phase === 'started'
      ? 'unknown'
      : ({ ok: 'success', warning: 'success', error: 'failure', unknown: 'unknown', running: 'unknown' } as const)[
          taskOutcome(task.status)
        ];
  const actor = portal
    ? { type: 'portal-user' as const, id: portal.userId, principal: task.authId }
    : pveActor(task.authId);
  const target =
    vmid !== null
      ? { type: 'guest', id: String(vmid), name: guest?.name ?? null, path: `/vms/${vmid}` }
      : task.id !== ''
        ? { type: 'task-object', id: task.id, name: null, path: null }
        : { type: 'node', id: task.node, name: task.node, path: `/nodes/${task.node}` };
  return {
    dedupKey: dedupKey(connectionId, `${task.upid}:${phase}`),
    source: 'pve.task',
    connectionId,
    occurredAt: isoFromEpoch(phase === 'started' ? task.starttime : (task.endtime ?? task.starttime)),
    category: 'task',
    action: `task.${actionPart(task.type)}`,
    outcome,
    actor,
    node: task.node,
    target,
    guest: vmid !== null ? { vmid, pool: guest?.pool ?? null } : null,
    upid: task.upid,
    requestId: portal?.requestId ?? null,
    detection: portal ? 'correlated' : 'reported',
    payload: {
      phase,
      type: task.type,
      id: task.id,
      pveUser: task.authId,
      starttime: task.starttime,
      endtime: task.endtime,
      status: task.status,
      ...(portal ? { portalTenantId: portal.tenantId } : {}),
    },
  };
}

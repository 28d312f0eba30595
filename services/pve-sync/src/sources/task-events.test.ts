import { describe, expect, it } from 'vitest';
import { AuditSourceEvent } from '@tenantgate/shared';
import { buildEvent } from '../events.ts';
import { taskEvent, taskOutcome, taskVmid, type TaskInfo } from './task-events.ts';

const conn = '7f1e1a52-0c3c-4d4e-9a55-3a7d6d1a0b01';
const task: TaskInfo = {
  upid: 'UPID:pve1:0003A1F2:0B2C4D11:69230A00:vzdump:100:sync@pve!pvesync:',
  node: 'pve1',
  type: 'vzdump',
  id: '100',
  authId: 'sync@pve!pvesync',
  starttime: 0x69230a00,
  endtime: 0x69230a00 + 60,
  status: 'job failed with err -5 - Input/output error',
};

describe('task events', () => {
  it('normalises PVE task status like PVE (formats.md §1.4)', () => {
    expect(taskOutcome(null)).toBe('running');
    expect(taskOutcome('OK')).toBe('ok');
    expect(taskOutcome('WARNINGS: 2')).toBe('warning');
    expect(taskOutcome('unexpected status')).toBe('unknown');
    expect(taskOutcome('VM is locked (snapshot)')).toBe('error');
  });

  it('takes the vmid only from guest-like ids', () => {
    expect(taskVmid('100')).toBe(100);
    expect(taskVmid('99')).toBeNull();
    expect(taskVmid('networking')).toBeNull();
    expect(taskVmid('')).toBeNull();
  });

  it('a failed finished task is a failure carrying the status text, the token actor and the guest', () => {
    const e = buildEvent(taskEvent(conn, task, 'finished', { pool: 'acme', name: 'web1' }, undefined), new Date());
    expect(AuditSourceEvent.parse(e)).toBeTruthy();
    expect(e).toMatchObject({
      action: 'task.vzdump',
      outcome: 'failure',
      upid: task.upid,
      actor: { type: 'pve-token', id: 'sync@pve!pvesync', principal: 'sync@pve!pvesync' },
      guest: { vmid: 100, pool: 'acme' },
      detection: 'reported',
      payload: { phase: 'finished', status: task.status },
    });
    expect(e.dedupKey).toBe(`${conn}|${task.upid}:finished`);
    expect(e.occurredAt).toBe(new Date((task.starttime + 60) * 1000).toISOString());
  });

  it('a task started from the portal is correlated to the portal user', () => {
    const portal = {
      requestId: 'c0a8e5a1-4b1e-4c1a-8f0e-5b5b2d7f0a11',
      userId: 'a0a8e5a1-4b1e-4c1a-8f0e-5b5b2d7f0a12',
      tenantId: 'b0a8e5a1-4b1e-4c1a-8f0e-5b5b2d7f0a13',
    };
    const e = buildEvent(taskEvent(conn, { ...task, status: 'OK' }, 'started', undefined, portal), new Date());
    expect(e).toMatchObject({
      detection: 'correlated',
      outcome: 'unknown',
      requestId: portal.requestId,
      actor: { type: 'portal-user', id: portal.userId, principal: 'sync@pve!pvesync' },
    });
  });

  it('derives the event id from the dedup key', () => {
    const a = buildEvent(taskEvent(conn, task, 'started', undefined, undefined), new Date(1));
    const b = buildEvent(taskEvent(conn, task, 'started', undefined, undefined), new Date(2));
    const c = buildEvent(taskEvent(conn, task, 'finished', undefined, undefined), new Date(1));
    expect(a.eventId).toBe(b.eventId);
    expect(a.eventId).not.toBe(c.eventId);
  });
});

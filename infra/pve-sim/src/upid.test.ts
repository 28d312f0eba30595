import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { buildCluster, DEMO_SCENARIO } from './scenario.ts';
import { decodeUpid, formatUpid, splitAuthId } from './upid.ts';

// The parse rule of formats.md §1.1, written out independently of upid.ts.
const FORMATS_MD_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

describe('UPID generation (formats.md §1)', () => {
  it('reproduces the worked example of formats.md', () => {
    const upid = formatUpid({
      node: 'iaclab-01-01',
      pid: 10717,
      pstart: 362369675,
      starttime: 1627975784,
      type: 'srvreload',
      id: 'networking',
      user: 'root@pam',
    });
    expect(upid).toBe('UPID:iaclab-01-01:000029DD:1599528B:6108F068:srvreload:networking:root@pam:');
    expect(decodeUpid(upid)).toEqual({
      node: 'iaclab-01-01',
      pid: 10717,
      pstart: 362369675,
      starttime: 1627975784,
      type: 'srvreload',
      id: 'networking',
      user: 'root@pam',
    });
  });

  it('writes 9 hex digits for pstart above 32 bits, an empty id, and token user ids', () => {
    const upid = formatUpid({
      node: 'pve1',
      pid: 0x3a1f2,
      pstart: 0x1_0b2c4d11,
      starttime: 0x69230a00,
      type: 'aptupdate',
      id: '',
      user: 'sync@pve!pvesync',
    });
    expect(upid).toBe('UPID:pve1:0003A1F2:10B2C4D11:69230A00:aptupdate::sync@pve!pvesync:');
    expect(FORMATS_MD_RE.test(upid)).toBe(true);
    expect(splitAuthId('sync@pve!pvesync')).toEqual({ user: 'sync@pve', tokenid: 'pvesync' });
  });

  it('rejects fields PVE could not parse', () => {
    expect(() =>
      formatUpid({ node: 'bad_node', pid: 1, pstart: 1, starttime: 1, type: 'x', id: '', user: 'root@pam' }),
    ).toThrow();
    expect(() =>
      formatUpid({ node: 'n', pid: 1, pstart: 1, starttime: 1, type: 'a/b', id: '', user: 'root@pam' }),
    ).toThrow();
    expect(decodeUpid('UPID:pve1:1:2:3:x::root@pam:')).toBeUndefined();
  });

  it('every UPID of the demo scenario parses with the formats.md rule, and its fields match the task', () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
    let count = 0;
    for (const spec of DEMO_SCENARIO.clusters) {
      const { state } = buildCluster(spec, clock, 42);
      for (const node of state.nodes.values()) {
        const { items, total } = node.tasks.query({ start: 0, limit: 100_000, errors: false, source: 'all' });
        expect(items.length).toBe(total);
        for (const t of items) {
          const m = FORMATS_MD_RE.exec(t.upid);
          expect(m, t.upid).not.toBeNull();
          expect(m?.[1]).toBe(node.name);
          expect(parseInt(m?.[5] as string, 16)).toBe(t.starttime);
          expect(parseInt(m?.[3] as string, 16)).toBe(t.pid);
          expect(m?.[6]).toBe(t.type);
          expect(m?.[7]).toBe(t.id);
          expect(m?.[4]).toMatch(/^[0-9A-F]{8,9}$/);
          count++;
        }
      }
    }
    expect(count).toBeGreaterThan(300);
  });
});

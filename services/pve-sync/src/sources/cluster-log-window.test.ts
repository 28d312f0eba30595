import { describe, expect, it } from 'vitest';
import type { ClusterLogEntry } from '../pve-api.ts';
import { clusterLogWindow } from './cluster-log-window.ts';

const e = (node: string, uid: number, time = 1000 + uid): ClusterLogEntry => ({
  uid,
  time,
  pri: 6,
  tag: 'pvedaemon',
  pid: 1,
  node,
  user: 'root@pam',
  msg: `m${uid}`,
  id: `${uid}:${node}`,
});
const newestFirst = (...xs: ClusterLogEntry[]): ClusterLogEntry[] => [...xs].sort((a, b) => b.time - a.time);

describe('clusterLogWindow', () => {
  it('takes everything on the first poll and remembers the newest uid per node', () => {
    const w = clusterLogWindow(newestFirst(e('a', 1), e('a', 2), e('b', 1)), {});
    expect(w.fresh).toHaveLength(3);
    expect(w.gaps).toEqual([]);
    expect(w.marks).toEqual({ a: { uid: 2, time: 1002 }, b: { uid: 1, time: 1001 } });
  });

  it('returns only entries after the marks, without a gap when uids are contiguous', () => {
    const w = clusterLogWindow(newestFirst(e('a', 1), e('a', 2), e('a', 3)), { a: { uid: 2, time: 1002 } });
    expect(w.fresh.map((x) => x.uid)).toEqual([3]);
    expect(w.gaps).toEqual([]);
  });

  it('detects entries lost to the ring buffer between polls', () => {
    const w = clusterLogWindow(newestFirst(e('a', 7), e('a', 8)), { a: { uid: 2, time: 1002 } });
    expect(w.gaps).toEqual([{ node: 'a', afterUid: 2, nextUid: 7, missing: 4, time: 1007 }]);
    expect(w.fresh.map((x) => x.uid)).toEqual([7, 8]);
  });

  it('treats a uid that went backwards with a newer time as a pmxcfs restart, not as old', () => {
    const w = clusterLogWindow(newestFirst(e('a', 1, 5000)), { a: { uid: 40, time: 1040 } });
    expect(w.restarted).toEqual(['a']);
    expect(w.fresh).toHaveLength(1);
    expect(w.marks.a).toEqual({ uid: 1, time: 5000 });
  });

  it('detects that the ring turned over past the newest entry of the last poll', () => {
    const last = { node: 'a', uid: 2, time: 1002 };
    expect(clusterLogWindow(newestFirst(e('a', 2), e('a', 3)), { a: { uid: 2, time: 1002 } }, last).wrapped).toBe(
      false,
    );
    const w = clusterLogWindow(newestFirst(e('a', 3), e('a', 4)), { a: { uid: 2, time: 1002 } }, last);
    expect(w.wrapped).toBe(true);
    expect(w.lastSeen).toEqual({ node: 'a', uid: 4, time: 1004 });
  });

  it('orders a node by uid: entries of the same second may carry interleaved times', () => {
    const w = clusterLogWindow(newestFirst(e('a', 3, 1001), e('a', 4, 1000), e('a', 5, 1001)), {
      a: { uid: 2, time: 1000 },
    });
    expect(w.gaps).toEqual([]);
    expect(w.fresh.map((x) => x.uid).sort()).toEqual([3, 4, 5]);
  });
});

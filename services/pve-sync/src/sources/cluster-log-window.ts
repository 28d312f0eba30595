// Which /cluster/log entries are new since the last poll, and whether entries were lost in between.
// The log is a ring buffer (~128 KiB) without a since/cursor parameter; each node numbers its own
// entries with a uid that increments by one per entry and restarts when pmxcfs restarts
// (formats.md §4). The cursor keeps, per node, the newest (uid, time) seen.
import type { ClusterLogEntry } from '../pve-api.ts';

export interface NodeMark {
  uid: number;
  time: number;
}

export interface ClusterLogGap {
  node: string;
  /** Last uid seen before the gap, and the first one seen after it. */
  afterUid: number;
  nextUid: number;
  missing: number;
  /** Time of the first entry after the gap. */
  time: number;
}

/** The newest entry of the last poll: if the next read no longer contains it, the ring turned over. */
export interface LastSeen {
  node: string;
  uid: number;
  time: number;
}

export interface ClusterLogWindow {
  /** New entries, oldest first. */
  fresh: ClusterLogEntry[];
  gaps: ClusterLogGap[];
  /** Nodes whose uid counter restarted (pmxcfs restart): losses there cannot be counted. */
  restarted: string[];
  marks: Record<string, NodeMark>;
  /** The ring buffer no longer holds the newest entry of the last poll: entries of any node may be lost. */
  wrapped: boolean;
  lastSeen: LastSeen | null;
}

export function clusterLogWindow(
  newestFirst: ClusterLogEntry[],
  marks: Record<string, NodeMark>,
  lastSeen: LastSeen | null = null,
): ClusterLogWindow {
  const byNode = new Map<string, ClusterLogEntry[]>();
  for (const e of newestFirst) {
    const list = byNode.get(e.node);
    if (list) list.push(e);
    else byNode.set(e.node, [e]);
  }
  const fresh: ClusterLogEntry[] = [];
  const gaps: ClusterLogGap[] = [];
  const restarted: string[] = [];
  const next: Record<string, NodeMark> = { ...marks };
  for (const [node, entries] of byNode) {
    // A node numbers its entries in order; times of entries logged in the same second may interleave.
    entries.sort((a, b) => a.uid - b.uid);
    const mark = marks[node];
    let news: ClusterLogEntry[];
    if (!mark) news = entries;
    else {
      news = entries.filter((e) => e.uid > mark.uid);
      // A uid at or below the mark with a newer time: pmxcfs restarted and numbers from 1 again.
      const reset = entries.filter((e) => e.uid <= mark.uid && e.time > mark.time);
      if (reset.length > 0 && news.length === 0) {
        restarted.push(node);
        news = reset;
      } else if (news.length > 0) {
        const first = news[0] as ClusterLogEntry;
        if (first.uid > mark.uid + 1) {
          gaps.push({
            node,
            afterUid: mark.uid,
            nextUid: first.uid,
            missing: first.uid - mark.uid - 1,
            time: first.time,
          });
        }
      }
    }
    if (news.length === 0) continue;
    // Holes between new entries: the ring dropped entries in between (it only drops the oldest, so
    // this also means loss).
    if (!restarted.includes(node)) {
      for (let i = 1; i < news.length; i++) {
        const a = news[i - 1] as ClusterLogEntry;
        const b = news[i] as ClusterLogEntry;
        if (b.uid > a.uid + 1)
          gaps.push({ node, afterUid: a.uid, nextUid: b.uid, missing: b.uid - a.uid - 1, time: b.time });
      }
    }
    fresh.push(...news);
    const last = news[news.length - 1] as ClusterLogEntry;
    next[node] = { uid: last.uid, time: Math.max(last.time, ...news.map((x) => x.time)) };
  }
  fresh.sort((a, b) => a.time - b.time || a.node.localeCompare(b.node) || a.uid - b.uid);
  const wrapped =
    lastSeen !== null &&
    !newestFirst.some((e) => e.node === lastSeen.node && e.uid === lastSeen.uid && e.time === lastSeen.time);
  const newest = newestFirst[0];
  return {
    fresh,
    gaps,
    restarted,
    marks: next,
    wrapped,
    lastSeen: newest ? { node: newest.node, uid: newest.uid, time: newest.time } : lastSeen,
  };
}

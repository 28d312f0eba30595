// The pmxcfs cluster log: a ring buffer of about 128 KiB shared by the cluster (formats.md §4).
// Entries are accounted with pmxcfs's entry size (44-byte header + node, ident, tag, msg each
// NUL-terminated, 8-byte aligned), so the number of entries that survive depends on their text
// exactly as on a real cluster.

export const CLUSTER_LOG_BYTES = 128 * 1024;

export interface ClusterLogEntry {
  uid: number;
  time: number;
  pri: number;
  tag: string;
  pid: number;
  node: string;
  user: string;
  msg: string;
}

export function clusterLogEntrySize(e: Pick<ClusterLogEntry, 'node' | 'user' | 'tag' | 'msg'>): number {
  const raw = 44 + e.node.length + 1 + e.user.length + 1 + e.tag.length + 1 + e.msg.length + 1;
  return (raw + 7) & ~7;
}

/** pmxcfs turns the text into ASCII: `"` as `\"`, control characters as `#ddd` (formats.md §4.3). */
export function clusterLogEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (code > 127)
      out += code > 0xffff ? '\\u' + code.toString(16).padStart(4, '0') : `\\u${code.toString(16).padStart(4, '0')}`;
    else if (code < 32 || code === 127) out += `#${String(code).padStart(3, '0')}`;
    else out += ch;
  }
  return out === '' ? 'empty message' : out;
}

export class ClusterLog {
  readonly capacityBytes: number;
  #entries: ClusterLogEntry[] = [];
  #head = 0;
  #bytes = 0;
  readonly #uids = new Map<string, number>();

  constructor(capacityBytes = CLUSTER_LOG_BYTES) {
    this.capacityBytes = capacityBytes;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Sets a node's uid counter (a pmxcfs restart resets it). */
  setUid(node: string, uid: number): void {
    this.#uids.set(node, uid);
  }

  append(e: Omit<ClusterLogEntry, 'uid'>): ClusterLogEntry {
    const uid = (this.#uids.get(e.node) ?? 0) + 1;
    this.#uids.set(e.node, uid);
    const entry: ClusterLogEntry = { ...e, uid, msg: clusterLogEncode(e.msg), user: clusterLogEncode(e.user) };
    this.#entries.push(entry);
    this.#bytes += clusterLogEntrySize(entry);
    while (this.#bytes > this.capacityBytes && this.#head < this.#entries.length) {
      this.#bytes -= clusterLogEntrySize(this.#entries[this.#head] as ClusterLogEntry);
      this.#head++;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return entry;
  }

  /** Newest first, at most `max`, keeping only entries `filter` accepts. */
  newest(max: number, filter?: (e: ClusterLogEntry) => boolean): ClusterLogEntry[] {
    const out: ClusterLogEntry[] = [];
    for (let i = this.#entries.length - 1; i >= this.#head && out.length < max; i--) {
      const e = this.#entries[i] as ClusterLogEntry;
      if (!filter || filter(e)) out.push(e);
    }
    return out;
  }
}

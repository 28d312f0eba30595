// A node's systemd journal as PVE's mini-journalreader and `journalctl -o short` render it
// (formats.md §5). Cursors look like systemd's: s=<seqnum id>;i=<seqnum>;b=<boot id>;m=<monotonic>;t=<realtime>;x=<hash>.
import { TZDate, tzOffset } from '@date-fns/tz';
import { createHash } from 'node:crypto';

export interface JournalEntry {
  seq: number;
  /** Realtime in microseconds. */
  usec: number;
  bootId: string;
  ident: string;
  pid?: number;
  msg: string;
}

/** A journal keeps at most this many entries per node (older ones are vacuumed). */
export const JOURNAL_MAX_ENTRIES = 50_000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Seconds the zone is ahead of UTC at `ms` (PVE's `localtime - time`). */
export function zoneOffsetSeconds(ms: number, timeZone: string): number {
  return tzOffset(timeZone, new Date(ms)) * 60;
}

/** `journalctl -o short` time: the node's LOCAL wall time, without year or zone (formats.md §5). */
function shortTime(usec: number, timeZone: string): string {
  const z = new TZDate(Math.floor(usec / 1000), timeZone);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[z.getMonth()]} ${p(z.getDate())} ${p(z.getHours())}:${p(z.getMinutes())}:${p(z.getSeconds())}`;
}

export class Journal {
  readonly host: string;
  readonly seqnumId: string;
  bootId: string;
  bootUsec: number;
  /** The node's time zone (`/nodes/{node}/time`); journal lines show local time in it. */
  timeZone: string;
  #entries: JournalEntry[] = [];
  #nextSeq = 1;

  constructor(host: string, seqnumId: string, bootId: string, bootUsec: number, timeZone = 'UTC') {
    this.host = host;
    this.timeZone = timeZone;
    this.seqnumId = seqnumId;
    this.bootId = bootId;
    this.bootUsec = bootUsec;
  }

  get entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  append(e: { usec: number; ident: string; pid?: number; msg: string }): JournalEntry {
    const entry: JournalEntry = { seq: this.#nextSeq++, bootId: this.bootId, ...e };
    this.#entries.push(entry);
    if (this.#entries.length > JOURNAL_MAX_ENTRIES) this.#entries.splice(0, this.#entries.length - JOURNAL_MAX_ENTRIES);
    return entry;
  }

  reboot(newBootId: string, atUsec: number): void {
    this.bootId = newBootId;
    this.bootUsec = atUsec;
  }

  cursor(e: JournalEntry): string {
    const mono = Math.max(0, e.usec - this.bootUsec);
    const x = createHash('sha256').update(`${this.seqnumId}:${e.seq}`).digest('hex').slice(0, 16);
    return `s=${this.seqnumId};i=${e.seq.toString(16)};b=${e.bootId};m=${mono.toString(16)};t=${e.usec.toString(16)};x=${x}`;
  }

  line(e: JournalEntry): string {
    return `${shortTime(e.usec, this.timeZone)} ${this.host} ${e.ident}${e.pid !== undefined ? `[${e.pid}]` : ''}: ${e.msg}`;
  }

  /** Index of the entry a cursor names (or the nearest following one); undefined for an unparsable cursor. */
  #seek(cursor: string): number | undefined {
    const fields = new Map(
      cursor.split(';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const i = fields.get('i');
    const t = fields.get('t');
    if (!i || !/^[0-9a-f]+$/i.test(i) || !t || !/^[0-9a-f]+$/i.test(t)) return undefined;
    if (fields.get('s') === this.seqnumId) return this.#lowerBound((e) => e.seq < parseInt(i, 16));
    const usec = parseInt(t, 16);
    return this.#lowerBound((e) => e.usec < usec);
  }

  #lowerBound(before: (e: JournalEntry) => boolean): number {
    let lo = 0;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(this.#entries[mid] as JournalEntry)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * GET /nodes/{node}/journal. Mirrors mini-journalreader: the first element is the cursor of the
   * first entry read (with `startcursor`, that entry itself, which is then skipped), the last element
   * the cursor of the last entry read; with `lastentries` N the last N entries (before `endcursor`).
   */
  read(p: {
    since?: number;
    until?: number;
    lastentries?: number;
    startcursor?: string;
    endcursor?: string;
  }): string[] | 'bad-cursor' {
    const n = this.#entries.length;
    const endUsec = p.until !== undefined ? p.until * 1_000_000 : undefined;
    let endIdx = n;
    if (p.endcursor !== undefined) {
      const at = this.#seek(p.endcursor);
      if (at === undefined) return 'bad-cursor';
      endIdx = at;
    }
    let from: number;
    let anchor: JournalEntry | undefined;
    if (p.lastentries) {
      const limit = endUsec !== undefined ? this.#lowerBound((e) => e.usec < endUsec) : endIdx;
      from = Math.max(0, limit - p.lastentries);
    } else if (p.startcursor !== undefined) {
      const at = this.#seek(p.startcursor);
      if (at === undefined) return 'bad-cursor';
      // seek + next lands on the cursor's entry (or the nearest one): its cursor is printed first,
      // the entry itself is not.
      anchor = this.#entries[Math.min(at, n - 1)];
      if (!anchor) return [];
      from = Math.min(at, n - 1) + 1;
    } else if (p.since !== undefined) {
      const sinceUsec = p.since * 1_000_000;
      from = this.#lowerBound((e) => e.usec < sinceUsec);
    } else from = 0;

    const lines: string[] = [];
    let first: JournalEntry | undefined = anchor;
    let last: JournalEntry | undefined = anchor;
    let prevBoot: string | undefined = anchor?.bootId;
    for (let i = from; i < endIdx; i++) {
      const e = this.#entries[i] as JournalEntry;
      if (endUsec !== undefined && e.usec >= endUsec) break;
      if (prevBoot !== undefined && e.bootId !== prevBoot) lines.push('-- Reboot --');
      prevBoot = e.bootId;
      first ??= e;
      lines.push(this.line(e));
      last = e;
    }
    // Nothing read and no anchor: mini-journalreader has no position to print a cursor for.
    if (!first || !last) return [];
    return [this.cursor(first), ...lines, this.cursor(last)];
  }
}

export { shortTime as journalShortTime };

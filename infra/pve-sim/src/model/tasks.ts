// Per-node task bookkeeping, modelled on /var/log/pve/tasks: the `active` list (running tasks and
// finished ones the archiver has not saved yet) plus an archive (`index` + `index.1`, rotated at
// 50,000 bytes) stored column-wise so that 100,000 tasks stay compact. Queries read the archive
// newest-first like PVE and skip the part that cannot match a `since` filter with a binary search
// over the running maximum of starttime.
import { decodeUpid, splitAuthId, type UpidFields } from '../upid.ts';

/** PVE renames `index` to `index.1` once it grows beyond this many bytes (formats.md §1.3). */
export const ARCHIVE_ROTATE_BYTES = 50_000;

export interface RunningTask extends UpidFields {
  upid: string;
  /** Epoch ms at which the task finishes by itself; undefined = runs until finished explicitly. */
  dueAtMs?: number;
  /** Status it will end with when due (`OK`, `WARNINGS: n`, or error text). */
  plannedStatus: string;
  log: string[];
  /** Applied to the model when the task ends (power actions change guest state). */
  onFinish?: (status: string) => void;
  /**
   * Whether the daemon that forked the worker is still there to reap it: its SIGCHLD handler runs the
   * archiver (`active_workers`) the moment the task ends. Otherwise the task waits in `active` for the
   * next archiver run (pvestatd's cycle, or the next task started on the node).
   */
  reaped: boolean;
}

/** A finished task that is still in the node's `active` file with `saved 0` (not in the archive yet). */
export interface EndedTask extends RunningTask {
  endtime: number;
  status: string;
  endedAtMs: number;
}

export interface TaskListItem {
  upid: string;
  node: string;
  pid?: number;
  pstart?: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  tokenid?: string;
  endtime?: number;
  status?: string;
  saved?: string;
}

export interface TaskQuery {
  start: number;
  limit: number;
  since?: number;
  until?: number;
  userfilter?: string;
  typefilter?: string;
  vmid?: number;
  statusfilter?: Set<string>;
  errors: boolean;
  source: 'archive' | 'active' | 'all';
  /** Owner filter for callers without Sys.Audit on /nodes/<node>. */
  visible?: (authId: string) => boolean;
}

/** formats.md §1.4 */
export function normalizeStatus(status: string | undefined): 'ok' | 'warning' | 'error' | 'unknown' {
  if (status === undefined || status === '' || status === 'unexpected status') return 'unknown';
  if (status === 'OK') return 'ok';
  if (/^WARNINGS: \d+$/.test(status)) return 'warning';
  return 'error';
}

export function statusIsError(status: string): boolean {
  return status !== 'OK' && !/^WARNINGS: \d+$/.test(status);
}

export class NodeTasks {
  readonly node: string;
  readonly running = new Map<string, RunningTask>();
  /** Finished, not yet archived (`<UPID> 0` lines of `active`): still listed as PVE lists them, RUNNING. */
  readonly ended = new Map<string, EndedTask>();
  // Archive columns, in append (end) order; index `i < rotateAt` is index.1, the rest is index.
  #upids: string[] = [];
  #endtimes: number[] = [];
  #statuses: string[] = [];
  #starttimes: number[] = [];
  #prefixMaxStart: number[] = [];
  #rotateAt = 0;
  #indexBytes = 0;
  /** Explicit logs of tasks that have them (scripted and live tasks); generated ones are synthesised. */
  readonly logs = new Map<string, string[]>();

  constructor(node: string) {
    this.node = node;
  }

  get archivedCount(): number {
    return this.#upids.length;
  }

  /** Appends a finished task to the archive (PVE appends on task end). */
  archive(upid: string, starttime: number, endtime: number, status: string): void {
    const line = `${upid} ${endtime.toString(16).toUpperCase().padStart(8, '0')} ${status}\n`;
    if (this.#indexBytes + line.length > ARCHIVE_ROTATE_BYTES) this.#rotate();
    const n = this.#upids.length;
    this.#upids.push(upid);
    this.#endtimes.push(endtime);
    this.#statuses.push(status);
    this.#starttimes.push(starttime);
    this.#prefixMaxStart.push(n === 0 ? starttime : Math.max(this.#prefixMaxStart[n - 1] as number, starttime));
    this.#indexBytes += line.length;
  }

  /**
   * One archiver run (RESTEnvironment::active_workers): every ended task that ended before `beforeMs`
   * is appended to `index`, in the order PVE writes a batch (newest starttime first), and becomes
   * `saved`. Returns how many were archived.
   */
  archiveEnded(beforeMs = Infinity): number {
    const batch = [...this.ended.values()]
      .filter((t) => t.endedAtMs < beforeMs)
      .sort((a, b) => b.starttime - a.starttime);
    for (const t of batch) {
      this.ended.delete(t.upid);
      this.archive(t.upid, t.starttime, t.endtime, t.status);
    }
    return batch.length;
  }

  /** The unsaved part of `active`, as the node task API walks it: running and ended tasks, oldest first. */
  activeUnsaved(): RunningTask[] {
    return [...this.running.values(), ...this.ended.values()].sort((a, b) => a.starttime - b.starttime);
  }

  /** `index` becomes `index.1`, replacing (and losing) the old `index.1`. */
  #rotate(): void {
    const drop = this.#rotateAt;
    for (const upid of this.#upids.slice(0, drop)) this.logs.delete(upid);
    this.#upids = this.#upids.slice(drop);
    this.#endtimes = this.#endtimes.slice(drop);
    this.#statuses = this.#statuses.slice(drop);
    this.#starttimes = this.#starttimes.slice(drop);
    this.#prefixMaxStart = [];
    let max = -Infinity;
    for (const s of this.#starttimes) this.#prefixMaxStart.push((max = Math.max(max, s)));
    this.#rotateAt = this.#upids.length;
    this.#indexBytes = 0;
  }

  findArchived(upid: string): { endtime: number; status: string } | undefined {
    const fields = decodeUpid(upid);
    if (!fields) return undefined;
    // Candidates are those whose running max start >= the task's start; scan newest first.
    for (let i = this.#upids.length - 1; i >= 0; i--) {
      if ((this.#prefixMaxStart[i] as number) < fields.starttime) break;
      if (this.#upids[i] === upid) return { endtime: this.#endtimes[i] as number, status: this.#statuses[i] as string };
    }
    return undefined;
  }

  /** The most recent finished tasks, newest first (for /cluster/tasks and the active view). */
  recentFinished(count: number): TaskListItem[] {
    const out: TaskListItem[] = [];
    for (let i = this.#upids.length - 1; i >= 0 && out.length < count; i--) out.push(this.#archivedItem(i));
    return out;
  }

  #archivedItem(i: number): TaskListItem {
    const upid = this.#upids[i] as string;
    return archivedTaskItem(upid, this.#endtimes[i] as number, this.#statuses[i] as string);
  }

  /** GET /nodes/{node}/tasks: returns the page and the total of all matching tasks. */
  query(q: TaskQuery): { items: TaskListItem[]; total: number } {
    const items: TaskListItem[] = [];
    let total = 0;
    const take = (make: () => TaskListItem): void => {
      if (total >= q.start && items.length < q.limit) items.push(make());
      total++;
    };
    const userfilter = q.userfilter?.toLowerCase();
    const matches = (f: UpidFields, status: string | undefined): boolean => {
      if (q.visible && !q.visible(f.user)) return false;
      if (q.since !== undefined && f.starttime < q.since) return false;
      if (q.until !== undefined && f.starttime > q.until) return false;
      if (userfilter !== undefined && !splitAuthId(f.user).user.toLowerCase().includes(userfilter)) return false;
      if (q.typefilter !== undefined && f.type !== q.typefilter) return false;
      if (q.vmid !== undefined && f.id !== String(q.vmid)) return false;
      const norm = normalizeStatus(status);
      if (q.errors) {
        if (norm === 'ok') return false;
      } else if (q.statusfilter && !q.statusfilter.has(norm)) return false;
      return true;
    };
    if (q.source === 'active' || q.source === 'all') {
      // PVE::API2::Tasks skips `saved` entries and shows the others with status RUNNING: an ended task
      // has no end time or status in `active` until the archiver writes them, together with saved=1.
      for (const t of this.activeUnsaved()) {
        if (matches(t, undefined)) take(() => runningTaskItem(t, true));
      }
    }
    if (q.source === 'archive' || q.source === 'all') {
      let low = 0;
      if (q.since !== undefined) low = lowerBound(this.#prefixMaxStart, q.since);
      for (let i = this.#upids.length - 1; i >= low; i--) {
        const st = this.#starttimes[i] as number;
        if (q.until !== undefined && st > q.until) continue;
        const f = decodeUpid(this.#upids[i] as string) as UpidFields;
        if (matches(f, this.#statuses[i])) take(() => this.#archivedItem(i));
      }
    }
    return { items, total };
  }
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function archivedTaskItem(upid: string, endtime: number, status: string): TaskListItem {
  const f = decodeUpid(upid) as UpidFields;
  const { user, tokenid } = splitAuthId(f.user);
  const item: TaskListItem = {
    upid,
    node: f.node,
    pid: f.pid,
    pstart: f.pstart,
    starttime: f.starttime,
    type: f.type,
    id: f.id,
    user,
    endtime,
    status,
  };
  if (tokenid !== undefined) item.tokenid = tokenid;
  return item;
}

export function runningTaskItem(t: RunningTask, withPstart: boolean): TaskListItem {
  const { user, tokenid } = splitAuthId(t.user);
  const item: TaskListItem = {
    upid: t.upid,
    node: t.node,
    pid: t.pid,
    starttime: t.starttime,
    type: t.type,
    id: t.id,
    user,
  };
  if (withPstart) item.pstart = t.pstart;
  if (tokenid !== undefined) item.tokenid = tokenid;
  item.saved = '0';
  if (withPstart) item.status = 'RUNNING';
  return item;
}

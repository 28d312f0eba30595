// The mutable in-memory model of one simulated PVE cluster. Every scripted change goes through the
// methods here, and each one leaves the same traces a real cluster would (tasks, cluster log,
// journal lines), so the API serves exactly what PVE would after that change.
import { AccessConfig, type SimToken } from '../access/access-config.ts';
import { PermissionEngine } from '../access/permissions.ts';
import { type Clock } from '../clock.ts';
import { Rng } from '../rng.ts';
import { formatUpid, splitAuthId } from '../upid.ts';
import { ClusterLog } from './cluster-log.ts';
import { type Journal } from './journal.ts';
import { type NodeTasks, statusIsError, type RunningTask } from './tasks.ts';

export type GuestType = 'qemu' | 'lxc';

export interface SimNode {
  name: string;
  nodeid: number;
  ip: string;
  online: boolean;
  level: string;
  maxcpu: number;
  maxmem: number;
  maxdisk: number;
  memFraction: number;
  diskFraction: number;
  cpuLoad: number;
  /** Epoch ms of the last boot. */
  bootedAtMs: number;
  sslFingerprint: string;
  nextPid: number;
  journal: Journal;
  tasks: NodeTasks;
}

export interface SimGuest {
  vmid: number;
  type: GuestType;
  node: string;
  name: string;
  status: 'running' | 'stopped';
  /** qemu: 'paused' after a suspend; lxc: 'frozen'. */
  paused: boolean;
  template: 0 | 1;
  cpus: number;
  maxmem: number;
  maxdisk: number;
  maxswap: number;
  diskFraction: number;
  memFraction: number;
  cpuLoad: number;
  /** Bytes per second of uptime, to derive counters deterministically. */
  ioRate: number;
  startedAtMs?: number;
  pid?: number;
  tags?: string;
  lock?: string;
  hastate?: string;
}

export interface SimStorage {
  storage: string;
  plugintype: string;
  content: string;
  shared: 0 | 1;
  nodes: string[];
  maxdisk: number;
  diskFraction: number;
}

export interface AddTaskInput {
  node: string;
  type: string;
  id?: string;
  user: string;
  /** Full token id owner part is `user`; `tokenid` is the token name. */
  tokenid?: string;
  /** Final status: 'OK', 'WARNINGS: n' or error text. Default 'OK'. */
  status?: string;
  /** Leave the task running (until finishTask, or `durationS` elapses if given). */
  running?: boolean;
  /** Epoch seconds; default now. */
  starttime?: number;
  durationS?: number;
  log?: string[];
  /** Daemon that logs the task (cluster log tag, journal ident). */
  tag?: string;
  /**
   * Default true: the daemon that started the task reaps it and archives it the moment it ends (API
   * calls). false: nothing reaps it (e.g. a scheduled backup whose starter has exited), so once ended it
   * stays in the node's active list (`saved: "0"`, listed as RUNNING) until the node's archiver runs.
   */
  reaped?: boolean;
}

export interface CreateGuestInput {
  vmid?: number;
  type?: GuestType;
  node: string;
  name?: string;
  pool?: string;
  running?: boolean;
  template?: boolean;
  tags?: string;
  cpus?: number;
  maxmem?: number;
  maxdisk?: number;
  /** Who created it; a qmcreate/vzcreate task is logged. Default root@pam. */
  by?: string;
}

export interface VersionInfo {
  version: string;
  release: string;
  repoid: string;
}

const TASK_TAG_DEFAULT = 'pvedaemon';

export class ClusterState {
  readonly name: string;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly access = new AccessConfig();
  readonly perms: PermissionEngine;
  readonly nodes = new Map<string, SimNode>();
  readonly guests = new Map<number, SimGuest>();
  readonly storages: SimStorage[] = [];
  readonly clusterLog = new ClusterLog();
  versionInfo: VersionInfo = { version: '9.1.1', release: '9.1', repoid: '42d9d7b8' };
  /** Corosync config version (cluster/status). */
  configVersion = 5;
  /**
   * Period of each node's task archiver (pvestatd runs `active_workers` every 10 s). 0 = every task is
   * archived the moment it ends. Set by startSimulator; 0 while scenarios are built.
   */
  taskArchiveIntervalMs = 0;
  /** Seconds of pvedaemon pids per node, for log lines. */
  readonly #daemonPids = new Map<string, number>();
  readonly #taskIndex = new Map<string, string>();

  constructor(name: string, clock: Clock, seed: number) {
    this.name = name;
    this.clock = clock;
    this.rng = new Rng(seed);
    this.perms = new PermissionEngine(this.access);
  }

  nowS(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new RangeError(`no such node '${name}' in cluster ${this.name}`);
    return n;
  }

  /** The node the API listener answers as (`local: 1`). */
  get localNode(): SimNode {
    return this.nodes.values().next().value as SimNode;
  }

  daemonPid(node: string, daemon = 'pvedaemon'): number {
    const key = `${node}/${daemon}`;
    let pid = this.#daemonPids.get(key);
    if (pid === undefined) {
      pid = 1000 + this.rng.int(100, 3000);
      this.#daemonPids.set(key, pid);
    }
    return pid;
  }

  /**
   * Catches the model up with the clock (called before each request is served): finishes every running
   * task whose time has come, in end order, and runs each node's periodic archiver up to now.
   */
  settle(): void {
    const now = this.clock.now();
    for (const n of this.nodes.values()) {
      const due = [...n.tasks.running.values()]
        .filter((t): t is RunningTask & { dueAtMs: number } => t.dueAtMs !== undefined && t.dueAtMs <= now)
        .sort((a, b) => a.dueAtMs - b.dueAtMs);
      for (const t of due) {
        this.#runPeriodicArchiver(n, t.dueAtMs);
        this.#finish(n, t, t.plannedStatus, Math.floor(t.dueAtMs / 1000), t.dueAtMs);
      }
      this.#runPeriodicArchiver(n, now);
    }
  }

  /** When node `n`'s periodic archiver last ran at or before `atMs` (nodes run out of phase, like pvestatd). */
  lastArchiverRunMs(n: SimNode, atMs: number): number {
    const period = this.taskArchiveIntervalMs;
    let phase = 0;
    for (const ch of n.name) phase = (phase * 31 + ch.charCodeAt(0)) % period;
    return Math.floor((atMs - phase) / period) * period + phase;
  }

  #runPeriodicArchiver(n: SimNode, atMs: number): void {
    if (n.tasks.ended.size === 0) return;
    if (this.taskArchiveIntervalMs <= 0) n.tasks.archiveEnded();
    else n.tasks.archiveEnded(this.lastArchiverRunMs(n, atMs));
  }

  // ---- tasks -------------------------------------------------------------------------------

  addTask(input: AddTaskInput, onFinish?: (status: string) => void): string {
    const n = this.node(input.node);
    // fork_worker runs the archiver (active_workers) on the node before it lists the new task.
    n.tasks.archiveEnded();
    const authId = input.tokenid ? `${input.user}!${input.tokenid}` : input.user;
    const nowS = this.nowS();
    const starttime = input.starttime ?? nowS;
    const pid = n.nextPid++;
    if (n.nextPid > 4_194_000) n.nextPid = 1000;
    const pstart = Math.max(1, Math.floor((starttime * 1000 - n.bootedAtMs) / 10)) + this.rng.int(0, 99);
    const upid = formatUpid({
      node: n.name,
      pid,
      pstart,
      starttime,
      type: input.type,
      id: input.id ?? '',
      user: authId,
    });
    const status = input.status ?? 'OK';
    const tag = input.tag ?? TASK_TAG_DEFAULT;
    const daemonPid = this.daemonPid(n.name, tag);
    this.#logTask(n, tag, daemonPid, authId, `starting task ${upid}`, 6, starttime);
    const log = input.log ?? defaultTaskLog(input.type, input.id ?? '', status);
    const finishesAt = input.durationS !== undefined ? starttime + input.durationS : undefined;
    if (input.running || (finishesAt !== undefined && finishesAt * 1000 > this.clock.now())) {
      const t: RunningTask = {
        upid,
        node: n.name,
        pid,
        pstart,
        starttime,
        type: input.type,
        id: input.id ?? '',
        user: authId,
        plannedStatus: status,
        log: log.slice(0, Math.max(0, log.length - 1)),
        reaped: input.reaped ?? true,
      };
      if (finishesAt !== undefined) t.dueAtMs = finishesAt * 1000;
      if (onFinish) t.onFinish = onFinish;
      n.tasks.running.set(upid, t);
      n.tasks.logs.set(upid, t.log);
    } else {
      const endtime = finishesAt ?? starttime + 1;
      if (input.reaped === false && this.taskArchiveIntervalMs > 0) {
        const ended = {
          upid,
          node: n.name,
          pid,
          pstart,
          starttime,
          type: input.type,
          id: input.id ?? '',
          user: authId,
        };
        n.tasks.ended.set(upid, {
          ...ended,
          plannedStatus: status,
          log,
          reaped: false,
          endtime,
          status,
          endedAtMs: this.clock.now(),
        });
      } else n.tasks.archive(upid, starttime, endtime, status);
      if (input.log) n.tasks.logs.set(upid, input.log);
      this.#logTask(n, tag, daemonPid, authId, `end task ${upid} ${status}`, statusIsError(status) ? 3 : 6, endtime);
      onFinish?.(status);
    }
    this.#taskIndex.set(upid, n.name);
    return upid;
  }

  /** Records a finished task in history without cluster-log/journal traces (bulk history generation). */
  addHistoricTask(
    node: SimNode,
    f: { type: string; id: string; authId: string; starttime: number; endtime: number; status: string },
  ): string {
    const pid = node.nextPid++;
    const pstart = Math.max(1, Math.floor((f.starttime * 1000 - node.bootedAtMs) / 10)) + (pid % 97);
    const upid = formatUpid({
      node: node.name,
      pid,
      pstart,
      starttime: f.starttime,
      type: f.type,
      id: f.id,
      user: f.authId,
    });
    node.tasks.archive(upid, f.starttime, f.endtime, f.status);
    return upid;
  }

  findRunning(upid: string): { node: SimNode; task: RunningTask } | undefined {
    for (const n of this.nodes.values()) {
      const t = n.tasks.running.get(upid);
      if (t) return { node: n, task: t };
    }
    return undefined;
  }

  /** Ends a running task now; `reaped` overrides the task's own setting (see AddTaskInput.reaped). */
  finishTask(upid: string, status: string, opts: { reaped?: boolean } = {}): void {
    const found = this.findRunning(upid);
    if (!found) throw new RangeError(`task ${upid} is not running`);
    if (opts.reaped !== undefined) found.task.reaped = opts.reaped;
    this.#runPeriodicArchiver(found.node, this.clock.now());
    this.#finish(found.node, found.task, status, this.nowS(), this.clock.now());
  }

  #finish(n: SimNode, t: RunningTask, status: string, endtime: number, endedAtMs: number): void {
    n.tasks.running.delete(t.upid);
    const last =
      status === 'OK' ? 'TASK OK' : /^WARNINGS: \d+$/.test(status) ? `TASK ${status}` : `TASK ERROR: ${status}`;
    t.log.push(last);
    n.tasks.logs.set(t.upid, t.log);
    n.tasks.ended.set(t.upid, { ...t, endtime: Math.max(endtime, t.starttime), status, endedAtMs });
    // A reaping daemon runs the archiver at once (which saves every ended task of the node, not just this one).
    if (t.reaped || this.taskArchiveIntervalMs <= 0) n.tasks.archiveEnded();
    const tag = TASK_TAG_DEFAULT;
    this.#logTask(
      n,
      tag,
      this.daemonPid(n.name, tag),
      t.user,
      `end task ${t.upid} ${status}`,
      statusIsError(status) ? 3 : 6,
      endtime,
    );
    t.onFinish?.(status);
  }

  #logTask(n: SimNode, tag: string, pid: number, authId: string, msg: string, pri: number, atS: number): void {
    this.clusterLog.append({ time: atS, pri, tag, pid, node: n.name, user: authId, msg });
    n.journal.append({ usec: atS * 1_000_000 + this.rng.int(0, 999_999), ident: tag, pid, msg: `<${authId}> ${msg}` });
  }

  // ---- guests ------------------------------------------------------------------------------

  guest(vmid: number): SimGuest {
    const g = this.guests.get(vmid);
    if (!g) throw new RangeError(`guest ${vmid} does not exist in cluster ${this.name}`);
    return g;
  }

  nextFreeVmid(): number {
    let id = 100;
    while (this.guests.has(id)) id++;
    return id;
  }

  /** Adds a guest directly (scenario building); no task is logged. */
  putGuest(g: SimGuest, pool?: string): void {
    this.guests.set(g.vmid, g);
    if (pool) this.#poolOrThrow(pool).vms.add(g.vmid);
    this.access.touch();
  }

  createGuest(input: CreateGuestInput): { vmid: number; upid: string } {
    const vmid = input.vmid ?? this.nextFreeVmid();
    if (this.guests.has(vmid)) throw new RangeError(`VM ${vmid} already exists`);
    this.node(input.node);
    const type = input.type ?? 'qemu';
    const g: SimGuest = {
      vmid,
      type,
      node: input.node,
      name: input.name ?? `${type === 'qemu' ? 'vm' : 'ct'}-${vmid}`,
      status: 'stopped',
      paused: false,
      template: input.template ? 1 : 0,
      cpus: input.cpus ?? 2,
      maxmem: input.maxmem ?? 2 * 1024 ** 3,
      maxdisk: input.maxdisk ?? 32 * 1024 ** 3,
      maxswap: type === 'lxc' ? 512 * 1024 ** 2 : 0,
      diskFraction: 0.1 + this.rng.next() * 0.5,
      memFraction: 0.2 + this.rng.next() * 0.6,
      cpuLoad: this.rng.next() * 0.3,
      ioRate: this.rng.int(1_000, 200_000),
    };
    if (input.tags) g.tags = input.tags;
    this.putGuest(g, input.pool);
    const [user, tokenid] = splitBy(input.by ?? 'root@pam');
    const upid = this.addTask({
      node: input.node,
      type: type === 'qemu' ? 'qmcreate' : 'vzcreate',
      id: String(vmid),
      user,
      ...(tokenid ? { tokenid } : {}),
    });
    if (input.running) this.#setRunning(g, true);
    return { vmid, upid };
  }

  destroyGuest(vmid: number, by = 'root@pam'): string {
    const g = this.guest(vmid);
    this.guests.delete(vmid);
    const pool = this.access.poolOfVm(vmid);
    if (pool) pool.vms.delete(vmid);
    this.access.acl.delete(`/vms/${vmid}`);
    this.access.touch();
    const [user, tokenid] = splitBy(by);
    return this.addTask({
      node: g.node,
      type: g.type === 'qemu' ? 'qmdestroy' : 'vzdestroy',
      id: String(vmid),
      user,
      ...(tokenid ? { tokenid } : {}),
    });
  }

  /** Moves a guest into a pool (or out of every pool with null), like `PUT /pools {vms, allow-move}`. */
  moveGuestToPool(vmid: number, pool: string | null): void {
    this.guest(vmid);
    const current = this.access.poolOfVm(vmid);
    if (current) current.vms.delete(vmid);
    if (pool !== null) this.#poolOrThrow(pool).vms.add(vmid);
    this.access.touch();
  }

  #poolOrThrow(pool: string) {
    const p = this.access.pools.get(pool);
    if (!p) throw new RangeError(`pool '${pool}' does not exist`);
    return p;
  }

  /** Sets a guest's run state directly (no task), e.g. a crash or an out-of-band change. */
  setGuestStatus(vmid: number, status: 'running' | 'stopped' | 'paused'): void {
    const g = this.guest(vmid);
    if (status === 'paused') {
      this.#setRunning(g, true);
      g.paused = true;
    } else this.#setRunning(g, status === 'running');
  }

  #setRunning(g: SimGuest, running: boolean): void {
    if (running && g.status !== 'running') {
      g.status = 'running';
      g.startedAtMs = this.clock.now();
      g.pid = this.node(g.node).nextPid++;
    } else if (!running) {
      g.status = 'stopped';
      delete g.startedAtMs;
      delete g.pid;
    }
    g.paused = false;
  }

  /**
   * A power action as the API runs it: creates the task (qmstart, vzstop, …), which runs for
   * `durationS` and then changes the guest's state, or ends with PVE's error text.
   */
  powerAction(vmid: number, action: PowerAction, authId: string, durationS: number): string {
    const g = this.guest(vmid);
    const prefix = g.type === 'qemu' ? 'qm' : 'vz';
    let type = `${prefix}${action}`;
    if (action === 'suspend' && g.type === 'qemu') type = 'qmpause';
    if (g.hastate && (action === 'start' || action === 'stop' || action === 'shutdown'))
      type = action === 'start' ? 'hastart' : 'hastop';
    const running = g.status === 'running';
    let error: string | undefined;
    if ((action === 'start' || action === 'resume') && running && !(action === 'resume' && g.paused)) {
      error = action === 'start' ? `VM ${vmid} already running` : undefined;
    }
    if (
      (action === 'stop' ||
        action === 'shutdown' ||
        action === 'reboot' ||
        action === 'suspend' ||
        action === 'reset') &&
      !running
    ) {
      error = `VM ${vmid} not running`;
    }
    if (action === 'resume' && !running) error = `VM ${vmid} not running`;
    if (g.type === 'lxc' && error) error = error.replace('VM', 'CT');
    const [user, tokenid] = splitBy(authId);
    return this.addTask(
      {
        node: g.node,
        type,
        id: String(vmid),
        user,
        ...(tokenid ? { tokenid } : {}),
        status: error ?? 'OK',
        running: true,
        durationS,
        log: error ? [`TASK ERROR: ${error}`] : powerTaskLog(g, action),
      },
      (status) => {
        if (status !== 'OK' || !this.guests.has(vmid)) return;
        if (action === 'start') this.#setRunning(g, true);
        else if (action === 'stop' || action === 'shutdown') this.#setRunning(g, false);
        else if (action === 'reboot' || action === 'reset') {
          this.#setRunning(g, false);
          this.#setRunning(g, true);
        } else if (action === 'suspend') g.paused = true;
        else if (action === 'resume') g.paused = false;
      },
    );
  }

  // ---- authentication events ----------------------------------------------------------------

  /** A failed login as pvedaemon logs it in the node's journal (formats.md §3.1). */
  addAuthFailure(user: string, ip: string, atS?: number, node?: string, reason?: string): void {
    const n = node ? this.node(node) : this.localNode;
    const t = atS ?? this.nowS();
    const rhost = ip.includes(':') ? ip : `::ffff:${ip}`;
    const u = this.access.users.get(user);
    const msg =
      reason ??
      (user.endsWith('@pam')
        ? 'Authentication failure'
        : !u
          ? `no such user ('${user}')`
          : u.enable === 0
            ? `user '${user}' is disabled`
            : 'invalid credentials');
    n.journal.append({
      usec: t * 1_000_000 + this.rng.int(0, 999_999),
      ident: 'pvedaemon',
      pid: this.daemonPid(n.name),
      msg: `authentication failure; rhost=${rhost} user=${user} msg=${msg}`,
    });
  }

  /** A successful login: cluster log entry under ident root@pam plus the syslog line (formats.md §3.3). */
  addLogin(user: string, ip: string, atS?: number, node?: string): void {
    const n = node ? this.node(node) : this.localNode;
    const t = atS ?? this.nowS();
    const pid = this.daemonPid(n.name);
    const msg = `successful auth for user '${user}'`;
    this.clusterLog.append({ time: t, pri: 6, tag: 'pvedaemon', pid, node: n.name, user: 'root@pam', msg });
    n.journal.append({
      usec: t * 1_000_000 + this.rng.int(0, 999_999),
      ident: 'pvedaemon',
      pid,
      msg: `<root@pam> ${msg}`,
    });
    // The client IP of a successful login only appears in pveproxy's access.log, which PVE does not serve.
    void ip;
  }

  /** pveproxy's line for a rejected ticket or token (formats.md §3.2): no IP, no user. */
  addProxyAuthFailure(reason: string, atS?: number): void {
    const n = this.localNode;
    const t = atS ?? this.nowS();
    n.journal.append({
      usec: t * 1_000_000 + this.rng.int(0, 999_999),
      ident: 'pveproxy',
      pid: this.daemonPid(n.name, 'pveproxy'),
      msg: `authentication failure: ${reason}`,
    });
  }

  // ---- access configuration -----------------------------------------------------------------

  grantAcl(path: string, member: string, roleid: string, propagate: 0 | 1 = 1): void {
    if (!this.perms.roleExists(roleid)) throw new RangeError(`role '${roleid}' does not exist`);
    this.access.grant(path, member, roleid, propagate);
  }

  revokeAcl(path: string, member: string, roleid?: string): boolean {
    return this.access.revoke(path, member, roleid);
  }

  addToken(
    userid: string,
    name: string,
    opts: { privsep?: 0 | 1; expire?: number; comment?: string; secret?: string } = {},
  ): SimToken {
    if (!this.access.users.has(userid)) throw new RangeError(`no such user ('${userid}')`);
    const fullId = `${userid}!${name}`;
    if (this.access.tokens.has(fullId)) throw new RangeError(`Token already exists.`);
    const token: SimToken = {
      fullId,
      userid,
      name,
      privsep: opts.privsep ?? 1,
      expire: opts.expire ?? 0,
      secret: opts.secret ?? this.rng.uuid(),
    };
    if (opts.comment !== undefined) token.comment = opts.comment;
    this.access.tokens.set(fullId, token);
    this.access.touch();
    return token;
  }

  removeToken(fullId: string): boolean {
    const existed = this.access.tokens.delete(fullId);
    if (existed) this.access.dropMember(fullId);
    return existed;
  }

  // ---- derived numbers ----------------------------------------------------------------------

  guestUptime(g: SimGuest): number {
    return g.status === 'running' && g.startedAtMs !== undefined
      ? Math.max(0, Math.floor((this.clock.now() - g.startedAtMs) / 1000))
      : 0;
  }

  nodeUptime(n: SimNode): number {
    return Math.max(0, Math.floor((this.clock.now() - n.bootedAtMs) / 1000));
  }
}

export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot' | 'reset' | 'suspend' | 'resume';

function splitBy(authId: string): [string, string | undefined] {
  const { user, tokenid } = splitAuthId(authId);
  return [user, tokenid];
}

function powerTaskLog(g: SimGuest, action: PowerAction): string[] {
  if (g.type === 'qemu' && action === 'start') return [`generating cloud-init ISO`, 'TASK OK'];
  return ['TASK OK'];
}

/** Log lines of a task that has no explicit log (finished history). */
export function defaultTaskLog(type: string, id: string, status: string): string[] {
  const last =
    status === 'OK' ? 'TASK OK' : /^WARNINGS: \d+$/.test(status) ? `TASK ${status}` : `TASK ERROR: ${status}`;
  if (type === 'vzdump') {
    const lines = [
      `INFO: starting new backup job: vzdump ${id} --mode snapshot --storage backup --compress zstd --node`,
      `INFO: Starting Backup of VM ${id} (qemu)`,
      'INFO: status = running',
      `INFO: creating Proxmox Backup Server archive 'vm/${id}'`,
    ];
    if (status === 'OK') lines.push(`INFO: Finished Backup of VM ${id}`, 'INFO: Backup job finished successfully');
    else lines.push(`ERROR: Backup of VM ${id} failed - ${status}`, 'INFO: Backup job finished with errors');
    return [...lines, last];
  }
  if (type === 'aptupdate') return ['starting apt-get update', 'Reading package lists...', last];
  return [last];
}

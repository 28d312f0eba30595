// The /api2/json handlers. Each reproduces the PVE handler's permission rule, filtering and
// result shape (api-shapes.md, acl-semantics.md E3). Handlers return the `data` value (and
// optionally `total`) or throw PveError.
import { normalizeAclPath, isTokenId, isUserId, realmOf } from '../access/access-config.ts';
import { BUILTIN_ROLES } from '../access/permissions.ts';
import type { ClusterState, PowerAction, SimGuest, SimNode } from '../model/cluster-state.ts';
import { defaultTaskLog } from '../model/cluster-state.ts';
import { zoneOffsetSeconds } from '../model/journal.ts';
import { archivedTaskItem, runningTaskItem, type TaskListItem } from '../model/tasks.ts';
import type { Params } from '../schema.ts';
import { decodeUpid, splitAuthId } from '../upid.ts';
import type { Subject } from './auth.ts';
import { PveError } from './pve-error.ts';

export interface ApiContext {
  state: ClusterState;
  subject: Subject;
  params: Params;
  /** Seconds a power-action task runs. */
  powerTaskDurationS: number;
}

export interface ApiResult {
  data: unknown;
  total?: number;
}

type Handler = (ctx: ApiContext) => ApiResult;

// ---- helpers -----------------------------------------------------------------------------------

function check(ctx: ApiContext, path: string, privs: readonly string[], any = false): void {
  const perms = ctx.state.perms.permissions(ctx.subject.authId, path);
  if (any) {
    if (!privs.some((p) => perms.has(p))) throw PveError.permission(path, privs, true);
    return;
  }
  for (const p of privs) if (!perms.has(p)) throw PveError.permission(path, [p]);
}

function has(ctx: ApiContext, path: string, priv: string): boolean {
  return ctx.state.perms.hasPrivilege(ctx.subject.authId, path, priv);
}

function str(ctx: ApiContext, name: string): string | undefined {
  const v = ctx.params[name];
  return v === undefined ? undefined : String(v);
}

function num(ctx: ApiContext, name: string): number | undefined {
  const v = ctx.params[name];
  return v === undefined ? undefined : Number(v);
}

function nodeOf(ctx: ApiContext): SimNode {
  const name = str(ctx, 'node') as string;
  const n = ctx.state.nodes.get(name);
  if (!n)
    throw PveError.internal(
      `hostname lookup '${name}' failed - failed to get address info for: ${name}: Name or service not known`,
    );
  return n;
}

function guestOf(ctx: ApiContext, type: 'qemu' | 'lxc'): SimGuest {
  const node = nodeOf(ctx);
  const vmid = num(ctx, 'vmid') as number;
  const g = ctx.state.guests.get(vmid);
  if (!g || g.type !== type || g.node !== node.name) {
    const dir = type === 'qemu' ? 'qemu-server' : 'lxc';
    throw PveError.internal(`Configuration file 'nodes/${node.name}/${dir}/${vmid}.conf' does not exist`);
  }
  return g;
}

/** "userid-group [privs]" of acl-semantics.md C15. */
function useridGroup(ctx: ApiContext, target: string, privs: readonly string[]): boolean {
  if (privs.some((p) => has(ctx, '/access/groups', p))) return true;
  return ctx.state.access.groupsOf(target).some((g) => privs.some((p) => has(ctx, `/access/groups/${g}`, p)));
}

function ownsTask(subject: Subject, taskAuthId: string): boolean {
  if (subject.isToken) return taskAuthId === subject.authId;
  return taskAuthId === subject.userid || taskAuthId.startsWith(`${subject.userid}!`);
}

function round(n: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// ---- guest and node views ------------------------------------------------------------------------

function guestCounters(state: ClusterState, g: SimGuest): Record<string, number> {
  const up = state.guestUptime(g);
  const running = g.status === 'running';
  return {
    cpu: running ? round(g.cpuLoad * (0.8 + 0.4 * ((up % 17) / 17))) : 0,
    mem: running ? Math.floor(g.maxmem * g.memFraction) : 0,
    netin: running ? up * g.ioRate : 0,
    netout: running ? Math.floor((up * g.ioRate) / 3) : 0,
    diskread: running ? up * g.ioRate * 4 : 0,
    diskwrite: running ? up * g.ioRate * 2 : 0,
    uptime: up,
  };
}

function resourceGuest(ctx: ApiContext, g: SimGuest): Record<string, unknown> {
  const c = guestCounters(ctx.state, g);
  const r: Record<string, unknown> = {
    id: `${g.type}/${g.vmid}`,
    type: g.type,
    vmid: g.vmid,
    node: g.node,
    status: g.status,
    name: g.name,
    uptime: c.uptime,
    template: g.template,
    maxcpu: g.cpus,
    cpu: c.cpu,
    maxmem: g.maxmem,
    mem: c.mem,
    maxdisk: g.maxdisk,
    disk: g.type === 'lxc' ? Math.floor(g.maxdisk * g.diskFraction) : 0,
    netin: c.netin,
    netout: c.netout,
    diskread: c.diskread,
    diskwrite: c.diskwrite,
  };
  if (g.type === 'qemu') r.memhost = g.status === 'running' ? Math.floor((c.mem as number) * 1.04) : 0;
  const pool = ctx.state.access.poolOfVm(g.vmid);
  if (pool && has(ctx, `/pool/${pool.poolid}`, 'Pool.Audit')) r.pool = pool.poolid;
  if (g.tags) r.tags = g.tags;
  if (g.lock) r.lock = g.lock;
  if (g.hastate) r.hastate = g.hastate;
  return r;
}

function nodeUsage(state: ClusterState, n: SimNode): Record<string, number> {
  return {
    uptime: state.nodeUptime(n),
    cpu: round(n.cpuLoad),
    maxcpu: n.maxcpu,
    mem: Math.floor(n.maxmem * n.memFraction),
    maxmem: n.maxmem,
    disk: Math.floor(n.maxdisk * n.diskFraction),
    maxdisk: n.maxdisk,
  };
}

function resourceNode(ctx: ApiContext, n: SimNode): Record<string, unknown> {
  const r: Record<string, unknown> = {
    id: `node/${n.name}`,
    type: 'node',
    node: n.name,
    status: n.online ? 'online' : 'offline',
    level: n.level,
    'cgroup-mode': 2,
  };
  if (has(ctx, `/nodes/${n.name}`, 'Sys.Audit')) {
    const u = nodeUsage(ctx.state, n);
    if (n.online) Object.assign(r, u);
    else Object.assign(r, { maxcpu: u.maxcpu, maxmem: u.maxmem, maxdisk: u.maxdisk });
  }
  return r;
}

function guestListItem(ctx: ApiContext, g: SimGuest, full: boolean): Record<string, unknown> {
  const c = guestCounters(ctx.state, g);
  const running = g.status === 'running';
  const r: Record<string, unknown> = {
    vmid: g.vmid,
    status: g.status,
    name: g.name,
    cpus: g.cpus,
    maxmem: g.maxmem,
    mem: c.mem,
    maxdisk: g.maxdisk,
  };
  r.disk = g.type === 'lxc' ? Math.floor(g.maxdisk * g.diskFraction) : 0;
  Object.assign(r, {
    uptime: c.uptime,
    cpu: c.cpu,
    netin: c.netin,
    netout: c.netout,
    diskread: c.diskread,
    diskwrite: c.diskwrite,
  });
  if (g.type === 'lxc') {
    r.type = 'lxc';
    r.maxswap = g.maxswap;
    r.swap = 0;
  } else if (running) r.memhost = Math.floor((c.mem as number) * 1.04);
  if (running && g.pid !== undefined) r.pid = g.pid;
  if (g.type === 'qemu' && (full || running)) {
    if (full) r.qmpstatus = running ? (g.paused ? 'paused' : 'running') : 'stopped';
  }
  if (g.type === 'qemu' && running && full) {
    r['running-machine'] = 'pc-i440fx-10.0+pve1';
    r['running-qemu'] = '10.0.2';
  }
  if (g.template) r.template = 1;
  if (g.tags) r.tags = g.tags;
  if (g.lock) r.lock = g.lock;
  return r;
}

function guestCurrent(ctx: ApiContext, g: SimGuest): Record<string, unknown> {
  const r = guestListItem(ctx, g, true);
  r.ha = g.hastate ? { managed: 1, state: g.hastate === 'started' ? 'started' : 'stopped' } : { managed: 0 };
  if (g.type === 'qemu') {
    r.qmpstatus = g.status === 'running' ? (g.paused ? 'paused' : 'running') : 'stopped';
    r.agent = 1;
  }
  return r;
}

// ---- tasks ---------------------------------------------------------------------------------------

function taskFromNode(
  ctx: ApiContext,
  node: SimNode,
  upid: string,
): { item: TaskListItem; running: boolean; authId: string } {
  const f = decodeUpid(upid);
  if (!f) throw PveError.param({ upid: 'unable to parse worker upid' });
  const running = node.tasks.running.get(upid);
  if (running) return { item: runningTaskItem(running, true), running: true, authId: running.user };
  // Ended but not archived yet: the process is gone, so /status already says stopped (with the log's status).
  const ended = node.tasks.ended.get(upid);
  if (ended) return { item: archivedTaskItem(upid, ended.endtime, ended.status), running: false, authId: ended.user };
  const archived = f.node === node.name ? node.tasks.findArchived(upid) : undefined;
  if (!archived) throw PveError.param({ upid: 'no such task' });
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
    endtime: archived.endtime,
    status: archived.status,
  };
  if (tokenid !== undefined) item.tokenid = tokenid;
  return { item, running: false, authId: f.user };
}

function taskAccess(ctx: ApiContext, node: SimNode, authId: string, priv: string): void {
  if (!ownsTask(ctx.subject, authId)) check(ctx, `/nodes/${node.name}`, [priv]);
}

// ---- access views ------------------------------------------------------------------------------

function userView(ctx: ApiContext, userid: string, full: boolean): Record<string, unknown> {
  const u = ctx.state.access.users.get(userid);
  if (!u) throw PveError.internal(`no such user ('${userid}')`);
  const r: Record<string, unknown> = { userid, enable: u.enable, expire: u.expire };
  for (const k of ['firstname', 'lastname', 'email', 'comment', 'keys'] as const) if (u[k] !== undefined) r[k] = u[k];
  r['realm-type'] = realmOf(userid) === 'pam' ? 'pam' : 'pve';
  if (full) {
    r.groups = ctx.state.access.groupsOf(userid).join(',');
    const tokens = ctx.state.access.tokensOf(userid);
    r.tokens = tokens.length === 0 ? null : tokens.map((t) => tokenView(t));
  }
  return r;
}

function tokenView(
  t: { name: string; privsep: 0 | 1; expire: number; comment?: string },
  withId = true,
): Record<string, unknown> {
  const r: Record<string, unknown> = withId
    ? { tokenid: t.name, privsep: t.privsep, expire: t.expire }
    : { privsep: t.privsep, expire: t.expire };
  if (t.comment !== undefined) r.comment = t.comment;
  return r;
}

function visibleUsers(ctx: ApiContext): (userid: string) => boolean {
  const privs = ['User.Modify', 'Sys.Audit'];
  if (privs.some((p) => has(ctx, '/access/groups', p))) return () => true;
  const allowedGroups = [...ctx.state.access.groups.values()].filter((g) =>
    privs.some((p) => has(ctx, `/access/groups/${g.groupid}`, p)),
  );
  return (userid) => userid === ctx.subject.userid || allowedGroups.some((g) => g.members.has(userid));
}

/** perm-modify of C15. */
function canModifyPermissions(ctx: ApiContext, path: string): boolean {
  if (has(ctx, path, 'Permissions.Modify')) return true;
  if (path.startsWith('/storage/') && has(ctx, path, 'Datastore.Allocate')) return true;
  if (path.startsWith('/vms/') && has(ctx, path, 'VM.Allocate')) return true;
  if (path.startsWith('/pool/') && has(ctx, path, 'Pool.Allocate')) return true;
  return false;
}

const DEFAULT_PERMISSION_PATHS = ['/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms'];

function permissionPaths(ctx: ApiContext): string[] {
  const paths = new Set(DEFAULT_PERMISSION_PATHS);
  for (const p of ctx.state.access.acl.keys()) paths.add(p);
  for (const pool of ctx.state.access.pools.values()) {
    for (const vm of pool.vms) paths.add(`/vms/${vm}`);
    for (const s of pool.storage) paths.add(`/storage/${s}`);
  }
  return [...paths].sort();
}

function privMap(ctx: ApiContext, authId: string, path: string): Record<string, 0 | 1> {
  const out: Record<string, 0 | 1> = {};
  for (const [priv, flag] of [...ctx.state.perms.permissions(authId, path)].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
    out[priv] = flag;
  return out;
}

/** `cap` of the login response (acl-semantics.md E2). */
export function capabilities(state: ClusterState, authId: string): Record<string, Record<string, 1>> {
  const cap: Record<string, Record<string, 1>> = {
    vms: {},
    storage: {},
    access: {},
    nodes: {},
    sdn: {},
    dc: {},
    mapping: {},
  };
  const paths = new Set([
    '/',
    '/nodes',
    '/access/groups',
    '/vms',
    '/storage',
    '/sdn',
    '/mapping',
    ...state.access.acl.keys(),
  ]);
  const family: Record<string, RegExp> = {
    vms: /^VM\./,
    access: /^(User|Group)\./,
    storage: /^Datastore\./,
    nodes: /^Sys\./,
    sdn: /^SDN\./,
    mapping: /^Mapping\./,
  };
  for (const path of paths) {
    const privs = [...state.perms.permissions(authId, path).keys()];
    const first = path.split('/')[1] ?? '';
    const add = (area: string, re: RegExp, withPermModify = true): void => {
      for (const p of privs)
        if (re.test(p) || (withPermModify && p === 'Permissions.Modify')) (cap[area] as Record<string, 1>)[p] = 1;
    };
    if (path === '/') add('dc', /^(Sys\.Audit|Sys\.Modify|SDN\.)/, false);
    else if (first === 'pool') {
      add('vms', family.vms as RegExp);
      add('storage', family.storage as RegExp);
    } else {
      const area = { vms: 'vms', access: 'access', storage: 'storage', nodes: 'nodes', sdn: 'sdn', mapping: 'mapping' }[
        first
      ];
      if (area) add(area, family[area] as RegExp);
    }
  }
  return cap;
}

// ---- handlers ------------------------------------------------------------------------------------

const POWER_ACTIONS: PowerAction[] = ['start', 'stop', 'shutdown', 'reboot', 'reset', 'suspend', 'resume'];

export const handlers: Record<string, Handler> = {
  'GET /version': ({ state }) => ({ data: { ...state.versionInfo } }),

  'GET /access/domains': () => ({
    data: [
      { realm: 'pam', type: 'pam', comment: 'Linux PAM standard authentication' },
      { realm: 'pve', type: 'pve', comment: 'Proxmox VE authentication server' },
    ],
  }),

  'GET /cluster/status': (ctx) => {
    check(ctx, '/', ['Sys.Audit']);
    const { state } = ctx;
    const nodes = [...state.nodes.values()];
    const data: Record<string, unknown>[] = [
      {
        type: 'cluster',
        id: 'cluster',
        name: state.name,
        nodes: nodes.length,
        quorate: nodes.filter((n) => n.online).length * 2 > nodes.length ? 1 : 0,
        version: state.configVersion,
      },
    ];
    for (const n of nodes) {
      data.push({
        type: 'node',
        id: `node/${n.name}`,
        name: n.name,
        nodeid: n.nodeid,
        ip: n.ip,
        local: n === state.localNode ? 1 : 0,
        online: n.online ? 1 : 0,
        level: n.level,
      });
    }
    return { data };
  },

  'GET /cluster/resources': (ctx) => {
    const type = str(ctx, 'type');
    const { state } = ctx;
    const out: Record<string, unknown>[] = [];
    if (!type || type === 'vm') {
      for (const g of [...state.guests.values()].sort((a, b) => a.vmid - b.vmid)) {
        if (has(ctx, `/vms/${g.vmid}`, 'VM.Audit')) out.push(resourceGuest(ctx, g));
      }
    }
    if (!type || type === 'node') for (const n of state.nodes.values()) out.push(resourceNode(ctx, n));
    if (!type || type === 'storage') {
      for (const s of state.storages) {
        if (!has(ctx, `/storage/${s.storage}`, 'Datastore.Audit')) continue;
        for (const node of s.nodes) {
          const n = state.nodes.get(node);
          const r: Record<string, unknown> = {
            id: `storage/${node}/${s.storage}`,
            type: 'storage',
            storage: s.storage,
            node,
            plugintype: s.plugintype,
            status: n?.online ? 'available' : 'unknown',
            shared: s.shared,
            content: s.content,
          };
          if (n?.online) Object.assign(r, { disk: Math.floor(s.maxdisk * s.diskFraction), maxdisk: s.maxdisk });
          out.push(r);
        }
      }
    }
    if (!type) {
      for (const pool of [...state.access.pools.values()].sort((a, b) => (a.poolid < b.poolid ? -1 : 1))) {
        if (!has(ctx, `/pool/${pool.poolid}`, 'Pool.Audit')) continue;
        const r: Record<string, unknown> = { id: `/pool/${pool.poolid}`, type: 'pool', pool: pool.poolid };
        const running = [...pool.vms]
          .map((v) => state.guests.get(v))
          .filter((g): g is SimGuest => g?.status === 'running');
        if (running.length > 0) {
          const cs = running.map((g) => ({ g, c: guestCounters(state, g) }));
          r.uptime = cs.reduce((a, x) => a + (x.c.uptime as number), 0);
          r.mem = cs.reduce((a, x) => a + (x.c.mem as number), 0);
          r.maxmem = cs.reduce((a, x) => a + x.g.maxmem, 0);
          r.cpu = round(cs.reduce((a, x) => a + (x.c.cpu as number), 0));
          r.maxcpu = cs.reduce((a, x) => a + x.g.cpus, 0);
        }
        out.push(r);
      }
    }
    if (!type || type === 'sdn') {
      if (has(ctx, '/sdn/zones/localnetwork', 'SDN.Audit')) {
        for (const n of state.nodes.values())
          out.push({ id: `sdn/${n.name}/localnetwork`, type: 'sdn', sdn: 'localnetwork', node: n.name, status: 'ok' });
      }
    }
    return { data: out };
  },

  'GET /cluster/tasks': (ctx) => {
    const { state, subject } = ctx;
    const all = has(ctx, '/', 'Sys.Audit');
    const out: TaskListItem[] = [];
    for (const n of state.nodes.values()) {
      // Each node broadcasts the list its archiver last wrote: a task that ended since is still listed
      // as running there (pid, saved "0", no status) until the archiver saves it.
      const running = n.tasks
        .activeUnsaved()
        .sort((a, b) => b.starttime - a.starttime)
        .map((t) => runningTaskItem(t, false));
      const finished = n.tasks.recentFinished(Math.max(0, 25 - running.length)).map((t) => {
        const { pid: _pid, pstart: _pstart, ...rest } = t;
        return { ...rest, saved: '1' };
      });
      for (const item of [...running, ...finished]) {
        if (all || (!subject.isToken && item.user === subject.userid)) out.push(item);
      }
    }
    return { data: out };
  },

  'GET /cluster/log': (ctx) => {
    const max = num(ctx, 'max') || 50;
    const all = has(ctx, '/', 'Sys.Syslog');
    const entries = ctx.state.clusterLog.newest(max, all ? undefined : (e) => e.user === ctx.subject.authId);
    return {
      data: entries.map((e) => ({
        uid: e.uid,
        time: e.time,
        pri: e.pri,
        tag: e.tag,
        pid: e.pid,
        node: e.node,
        user: e.user,
        msg: e.msg,
        id: `${e.uid}:${e.node}`,
      })),
    };
  },

  'GET /nodes': (ctx) => {
    const out: Record<string, unknown>[] = [];
    for (const n of ctx.state.nodes.values()) {
      const r: Record<string, unknown> = {
        node: n.name,
        id: `node/${n.name}`,
        type: 'node',
        status: n.online ? 'online' : 'offline',
        level: n.level,
        ssl_fingerprint: n.sslFingerprint,
      };
      if (n.online && has(ctx, `/nodes/${n.name}`, 'Sys.Audit')) Object.assign(r, nodeUsage(ctx.state, n));
      out.push(r);
    }
    return { data: out };
  },

  'GET /nodes/{node}/tasks': (ctx) => {
    const node = nodeOf(ctx);
    const statusfilter = str(ctx, 'statusfilter');
    let filterSet: Set<string> | undefined;
    if (statusfilter !== undefined) {
      filterSet = new Set();
      for (const s of statusfilter.split(/[,;\s]+/).filter(Boolean)) {
        const v = s.toLowerCase();
        if (!['ok', 'warning', 'error', 'unknown'].includes(v)) {
          throw PveError.param({
            statusfilter: `value '${s}' does not have a value in the enumeration 'ok, warning, error, unknown'`,
          });
        }
        filterSet.add(v);
      }
    }
    const all = has(ctx, `/nodes/${node.name}`, 'Sys.Audit');
    const { items, total } = node.tasks.query({
      start: num(ctx, 'start') ?? 0,
      limit: num(ctx, 'limit') ?? 50,
      ...(num(ctx, 'since') !== undefined ? { since: num(ctx, 'since') as number } : {}),
      ...(num(ctx, 'until') !== undefined ? { until: num(ctx, 'until') as number } : {}),
      ...(str(ctx, 'userfilter') !== undefined ? { userfilter: str(ctx, 'userfilter') as string } : {}),
      ...(str(ctx, 'typefilter') !== undefined ? { typefilter: str(ctx, 'typefilter') as string } : {}),
      ...(num(ctx, 'vmid') !== undefined ? { vmid: num(ctx, 'vmid') as number } : {}),
      ...(filterSet ? { statusfilter: filterSet } : {}),
      errors: num(ctx, 'errors') === 1,
      source: (str(ctx, 'source') ?? 'archive') as 'archive' | 'active' | 'all',
      ...(all ? {} : { visible: (authId: string) => ownsTask(ctx.subject, authId) }),
    });
    return { data: items, total };
  },

  'GET /nodes/{node}/tasks/{upid}': (ctx) => {
    const node = nodeOf(ctx);
    const t = taskFromNode(ctx, node, str(ctx, 'upid') as string);
    taskAccess(ctx, node, t.authId, 'Sys.Audit');
    return { data: [{ name: 'log' }, { name: 'status' }] };
  },

  'DELETE /nodes/{node}/tasks/{upid}': (ctx) => {
    const node = nodeOf(ctx);
    const upid = str(ctx, 'upid') as string;
    const t = taskFromNode(ctx, node, upid);
    taskAccess(ctx, node, t.authId, 'Sys.Modify');
    if (t.running) ctx.state.finishTask(upid, 'received interrupt');
    return { data: null };
  },

  'GET /nodes/{node}/tasks/{upid}/status': (ctx) => {
    const node = nodeOf(ctx);
    const t = taskFromNode(ctx, node, str(ctx, 'upid') as string);
    taskAccess(ctx, node, t.authId, 'Sys.Audit');
    const { endtime: _e, status, saved: _s, ...rest } = t.item;
    const data: Record<string, unknown> = { ...rest, status: t.running ? 'running' : 'stopped' };
    if (!t.running) data.exitstatus = status;
    return { data };
  },

  'GET /nodes/{node}/tasks/{upid}/log': (ctx) => {
    const node = nodeOf(ctx);
    const upid = str(ctx, 'upid') as string;
    const t = taskFromNode(ctx, node, upid);
    taskAccess(ctx, node, t.authId, 'Sys.Audit');
    if (num(ctx, 'download') === 1 && (ctx.params.start !== undefined || ctx.params.limit !== undefined)) {
      throw PveError.param({ download: "'download' cannot be used with 'start' or 'limit'" });
    }
    let lines = node.tasks.logs.get(upid);
    if (!lines) lines = defaultTaskLog(t.item.type, t.item.id, t.item.status ?? 'OK');
    if (lines.length === 0) return { data: [{ n: 1, t: 'no content' }], total: 1 };
    const start = num(ctx, 'start') ?? 0;
    const limit = num(ctx, 'limit') ?? 50;
    const slice = limit === 0 ? lines.slice(start) : lines.slice(start, start + limit);
    return { data: slice.map((t2, i) => ({ n: start + i + 1, t: t2 })), total: lines.length };
  },

  'GET /nodes/{node}/journal': (ctx) => {
    const node = nodeOf(ctx);
    check(ctx, `/nodes/${node.name}`, ['Sys.Syslog']);
    const p = {
      since: num(ctx, 'since'),
      until: num(ctx, 'until'),
      lastentries: num(ctx, 'lastentries'),
      startcursor: str(ctx, 'startcursor'),
      endcursor: str(ctx, 'endcursor'),
    };
    if (p.lastentries && (p.since !== undefined || p.startcursor !== undefined))
      throw PveError.internal("command '/usr/bin/mini-journalreader' failed: exit code 1");
    if (p.since !== undefined && p.startcursor !== undefined)
      throw PveError.internal("command '/usr/bin/mini-journalreader' failed: exit code 1");
    const res = node.journal.read(Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)));
    if (res === 'bad-cursor') throw PveError.internal("command '/usr/bin/mini-journalreader' failed: exit code 1");
    return { data: res };
  },

  // Sys.Audit on the node (api-shapes: pve-manager Nodes.pm `time`); `localtime` is the wall clock
  // read as if it were UTC, i.e. time + the zone's current offset.
  'GET /nodes/{node}/time': (ctx) => {
    const node = nodeOf(ctx);
    check(ctx, `/nodes/${node.name}`, ['Sys.Audit']);
    const time = ctx.state.nowS();
    const timezone = node.journal.timeZone;
    return { data: { timezone, time, localtime: time + zoneOffsetSeconds(time * 1000, timezone) } };
  },

  'GET /nodes/{node}/syslog': (ctx) => {
    const node = nodeOf(ctx);
    check(ctx, `/nodes/${node.name}`, ['Sys.Syslog']);
    const parseDate = (name: string): number | undefined => {
      const v = str(ctx, name);
      if (v === undefined) return undefined;
      const m = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v);
      if (!m) throw PveError.param({ [name]: 'value does not match the regex pattern' });
      return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)) * 1000;
    };
    const since = parseDate('since');
    const until = parseDate('until');
    let service = str(ctx, 'service');
    if (service === 'sshd') service = 'ssh';
    const lines: string[] = [];
    for (const e of node.journal.entries) {
      if (since !== undefined && e.usec < since) continue;
      if (until !== undefined && e.usec > until) continue;
      if (service !== undefined && e.ident !== service && e.ident !== service.replace(/\.service$/, '')) continue;
      lines.push(node.journal.line(e));
    }
    const start = num(ctx, 'start') ?? 0;
    const limit = num(ctx, 'limit') ?? 50;
    const page = lines.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
    if (lines.length === 0) return { data: [{ n: 1, t: 'no content' }], total: 1 };
    return { data: page, total: lines.length };
  },

  'GET /nodes/{node}/qemu': (ctx) => guestList(ctx, 'qemu'),
  'GET /nodes/{node}/lxc': (ctx) => guestList(ctx, 'lxc'),
  'GET /nodes/{node}/qemu/{vmid}/status/current': (ctx) => {
    const g = guestOf(ctx, 'qemu');
    check(ctx, `/vms/${g.vmid}`, ['VM.Audit']);
    return { data: guestCurrent(ctx, g) };
  },
  'GET /nodes/{node}/lxc/{vmid}/status/current': (ctx) => {
    const g = guestOf(ctx, 'lxc');
    check(ctx, `/vms/${g.vmid}`, ['VM.Audit']);
    return { data: guestCurrent(ctx, g) };
  },

  // ---- access
  'GET /access/users': (ctx) => {
    const enabled = num(ctx, 'enabled');
    const full = num(ctx, 'full') === 1;
    const visible = visibleUsers(ctx);
    const out: Record<string, unknown>[] = [];
    for (const userid of [...ctx.state.access.users.keys()].sort()) {
      if (!visible(userid)) continue;
      const u = ctx.state.access.users.get(userid);
      if (enabled !== undefined && u?.enable !== enabled) continue;
      out.push(userView(ctx, userid, full));
    }
    return { data: out };
  },

  'GET /access/users/{userid}': (ctx) => {
    const userid = str(ctx, 'userid') as string;
    if (!useridGroup(ctx, userid, ['User.Modify', 'Sys.Audit']))
      throw PveError.permission('/access/groups', ['User.Modify', 'Sys.Audit'], true);
    const u = ctx.state.access.users.get(userid);
    if (!u) throw PveError.internal(`no such user ('${userid}')`);
    const r: Record<string, unknown> = { enable: u.enable, expire: u.expire };
    for (const k of ['firstname', 'lastname', 'email', 'comment', 'keys'] as const) if (u[k] !== undefined) r[k] = u[k];
    r.groups = ctx.state.access.groupsOf(userid);
    const tokens = ctx.state.access.tokensOf(userid);
    if (tokens.length > 0) r.tokens = Object.fromEntries(tokens.map((t) => [t.name, tokenView(t, false)]));
    return { data: r };
  },

  'GET /access/users/{userid}/token': (ctx) => {
    const userid = str(ctx, 'userid') as string;
    tokenPermission(ctx, userid);
    if (!ctx.state.access.users.has(userid)) throw PveError.internal(`no such user ('${userid}')`);
    return { data: ctx.state.access.tokensOf(userid).map((t) => tokenView(t)) };
  },

  'GET /access/users/{userid}/token/{tokenid}': (ctx) => {
    const userid = str(ctx, 'userid') as string;
    tokenPermission(ctx, userid);
    const name = str(ctx, 'tokenid') as string;
    const t = ctx.state.access.tokens.get(`${userid}!${name}`);
    if (!t) throw PveError.internal(`no such token '${name}' for user '${userid}'`);
    return { data: tokenView(t, false) };
  },

  'POST /access/users/{userid}/token/{tokenid}': (ctx) => {
    const userid = str(ctx, 'userid') as string;
    tokenPermission(ctx, userid);
    const name = str(ctx, 'tokenid') as string;
    if (!ctx.state.access.users.has(userid)) throw PveError.internal(`no such user ('${userid}')`);
    if (ctx.state.access.tokens.has(`${userid}!${name}`)) throw PveError.internal(`Token already exists.`);
    const u = ctx.state.access.users.get(userid);
    const t = ctx.state.addToken(userid, name, {
      privsep: (num(ctx, 'privsep') ?? 1) as 0 | 1,
      expire: num(ctx, 'expire') ?? u?.expire ?? 0,
      ...(str(ctx, 'comment') !== undefined ? { comment: str(ctx, 'comment') as string } : {}),
    });
    return { data: { 'full-tokenid': t.fullId, info: tokenView(t, false), value: t.secret } };
  },

  'PUT /access/users/{userid}/token/{tokenid}': (ctx) => {
    const userid = str(ctx, 'userid') as string;
    tokenPermission(ctx, userid);
    const name = str(ctx, 'tokenid') as string;
    const t = ctx.state.access.tokens.get(`${userid}!${name}`);
    if (!t) throw PveError.internal(`no such token '${name}' for user '${userid}'`);
    if (ctx.params.privsep !== undefined) t.privsep = num(ctx, 'privsep') as 0 | 1;
    if (ctx.params.expire !== undefined) t.expire = num(ctx, 'expire') as number;
    if (ctx.params.comment !== undefined) t.comment = str(ctx, 'comment') as string;
    for (const d of (str(ctx, 'delete') ?? '').split(/[,;\s]+/).filter(Boolean)) if (d === 'comment') delete t.comment;
    ctx.state.access.touch();
    return { data: tokenView(t, false) };
  },

  'DELETE /access/users/{userid}/token/{tokenid}': (ctx) => {
    const userid = str(ctx, 'userid') as string;
    tokenPermission(ctx, userid);
    const name = str(ctx, 'tokenid') as string;
    if (!ctx.state.removeToken(`${userid}!${name}`))
      throw PveError.internal(`no such token '${name}' for user '${userid}'`);
    return { data: null };
  },

  'GET /access/groups': (ctx) => {
    const out: Record<string, unknown>[] = [];
    for (const g of [...ctx.state.access.groups.values()].sort((a, b) => (a.groupid < b.groupid ? -1 : 1))) {
      const path = `/access/groups/${g.groupid}`;
      if (!['User.Modify', 'Sys.Audit', 'Group.Allocate'].some((p) => has(ctx, path, p))) continue;
      const r: Record<string, unknown> = { groupid: g.groupid };
      if (g.comment !== undefined) r.comment = g.comment;
      if (g.members.size > 0) r.users = [...g.members].sort().join(',');
      out.push(r);
    }
    return { data: out };
  },

  'GET /access/groups/{groupid}': (ctx) => {
    check(ctx, '/access/groups', ['Sys.Audit', 'Group.Allocate'], true);
    const id = str(ctx, 'groupid') as string;
    const g = ctx.state.access.groups.get(id);
    if (!g) throw PveError.internal(`group '${id}' does not exist`);
    const r: Record<string, unknown> = { members: [...g.members].sort() };
    if (g.comment !== undefined) r.comment = g.comment;
    return { data: r };
  },

  'GET /access/roles': (ctx) => {
    const out: Record<string, unknown>[] = [];
    const ids = [...new Set([...Object.keys(BUILTIN_ROLES), ...ctx.state.access.customRoles.keys()])].sort();
    for (const roleid of ids) {
      out.push({
        roleid,
        privs: [...ctx.state.perms.rolePrivileges(roleid)].sort().join(','),
        special: roleid in BUILTIN_ROLES ? 1 : 0,
      });
    }
    return { data: out };
  },

  'GET /access/roles/{roleid}': (ctx) => {
    const roleid = str(ctx, 'roleid') as string;
    if (!ctx.state.perms.roleExists(roleid)) throw PveError.internal(`role '${roleid}' does not exist`);
    return { data: Object.fromEntries(ctx.state.perms.rolePrivileges(roleid).map((p) => [p, 1])) };
  },

  'GET /access/acl': (ctx) => {
    const all = has(ctx, '/access', 'Sys.Audit');
    const out = ctx.state.access.aclEntries().filter((e) => all || canModifyPermissions(ctx, e.path));
    return { data: out };
  },

  'PUT /access/acl': (ctx) => {
    const path = normalizeAclPath(str(ctx, 'path') as string);
    if (path === undefined) throw PveError.param({ path: 'invalid ACL path' });
    if (!canModifyPermissions(ctx, path)) throw PveError.permission(path, ['Permissions.Modify']);
    const roles = (str(ctx, 'roles') as string).split(/[,;\s]+/).filter(Boolean);
    const del = num(ctx, 'delete') === 1;
    const propagate = (num(ctx, 'propagate') ?? 1) as 0 | 1;
    const split = (name: string): string[] => (str(ctx, name) ?? '').split(/[,;\s]+/).filter(Boolean);
    const users = split('users');
    const groups = split('groups');
    const tokens = split('tokens');
    if (users.length + groups.length + tokens.length === 0)
      throw PveError.internal("either 'users', 'groups' or 'tokens' is required");
    const ownPerms = ctx.state.perms.permissions(ctx.subject.authId, path);
    const fullModify = ownPerms.has('Permissions.Modify');
    for (const roleid of roles) {
      if (!ctx.state.perms.roleExists(roleid)) throw PveError.internal(`role '${roleid}' does not exist`);
      if (!fullModify) {
        if (roleid === 'NoAccess') throw PveError.permission(path, ['Permissions.Modify']);
        for (const priv of ctx.state.perms.rolePrivileges(roleid)) {
          const flag = ownPerms.get(priv);
          if (flag === undefined || (!del && propagate === 1 && flag !== 1))
            throw PveError.permission(path, ['Permissions.Modify']);
        }
      }
    }
    for (const u of users)
      if (!del && !ctx.state.access.users.has(u)) throw PveError.internal(`user '${u}' does not exist`);
    for (const g of groups)
      if (!del && !ctx.state.access.groups.has(g)) throw PveError.internal(`group '${g}' does not exist`);
    for (const t of tokens) if (!ctx.state.access.tokens.has(t)) throw PveError.internal(`no such token '${t}'`);
    const members = [...users, ...groups.map((g) => `@${g}`), ...tokens];
    for (const m of members) {
      for (const roleid of roles) {
        if (del) ctx.state.revokeAcl(path, m, roleid);
        else ctx.state.grantAcl(path, m, roleid, propagate);
      }
    }
    return { data: null };
  },

  'GET /access/permissions': (ctx) => {
    const target = str(ctx, 'userid') ?? ctx.subject.authId;
    const { subject } = ctx;
    if (target !== subject.authId) {
      const ownToken = !subject.isToken && isTokenId(target) && target.startsWith(`${subject.userid}!`);
      const nonPrivsepToken = subject.isToken && ctx.state.access.tokens.get(subject.authId)?.privsep === 0;
      if (!ownToken) {
        const viewer = nonPrivsepToken ? subject.userid : subject.authId;
        if (!ctx.state.perms.hasPrivilege(viewer, '/access', 'Sys.Audit'))
          throw PveError.permission('/access', ['Sys.Audit']);
      }
    }
    if (!isUserId(target) && !isTokenId(target))
      throw PveError.param({ userid: 'value does not match the regex pattern' });
    const pathParam = str(ctx, 'path');
    const out: Record<string, Record<string, 0 | 1>> = {};
    const paths = pathParam !== undefined ? [normalizeAclPath(pathParam) ?? pathParam] : permissionPaths(ctx);
    for (const path of paths) {
      const m = privMap(ctx, target, path);
      if (pathParam !== undefined || Object.keys(m).length > 0) out[path] = m;
    }
    return { data: out };
  },

  // ---- pools
  'GET /pools': (ctx) => {
    const poolid = str(ctx, 'poolid');
    const { state } = ctx;
    if (poolid !== undefined) {
      // PVE does not enforce Pool.Audit here (acl-semantics.md H.10): reproduced on purpose.
      const pool = state.access.pools.get(poolid);
      if (!pool) throw PveError.internal(`pool '${poolid}' does not exist`);
      return { data: [{ poolid, ...poolDetail(ctx, poolid, str(ctx, 'type')) }] };
    }
    const out: Record<string, unknown>[] = [];
    for (const pool of [...state.access.pools.values()].sort((a, b) => (a.poolid < b.poolid ? -1 : 1))) {
      if (!has(ctx, `/pool/${pool.poolid}`, 'Pool.Audit')) continue;
      out.push(pool.comment !== undefined ? { poolid: pool.poolid, comment: pool.comment } : { poolid: pool.poolid });
    }
    return { data: out };
  },

  'GET /pools/{poolid}': (ctx) => {
    const poolid = str(ctx, 'poolid') as string;
    check(ctx, `/pool/${poolid}`, ['Pool.Audit']);
    if (!ctx.state.access.pools.has(poolid)) throw PveError.internal(`pool '${poolid}' does not exist`);
    return { data: poolDetail(ctx, poolid, str(ctx, 'type')) };
  },

  'POST /pools': (ctx) => {
    const poolid = str(ctx, 'poolid') as string;
    check(ctx, `/pool/${poolid}`, ['Pool.Allocate']);
    if (ctx.state.access.pools.has(poolid)) throw PveError.internal(`pool '${poolid}' already exists`);
    ctx.state.access.pools.set(poolid, {
      poolid,
      ...(str(ctx, 'comment') !== undefined ? { comment: str(ctx, 'comment') as string } : {}),
      vms: new Set(),
      storage: new Set(),
    });
    ctx.state.access.touch();
    return { data: null };
  },

  'PUT /pools': (ctx) => updatePool(ctx),
  'PUT /pools/{poolid}': (ctx) => updatePool(ctx),

  'DELETE /pools': (ctx) => deletePool(ctx),
  'DELETE /pools/{poolid}': (ctx) => deletePool(ctx),
};

for (const type of ['qemu', 'lxc'] as const) {
  for (const action of POWER_ACTIONS) {
    if (type === 'lxc' && action === 'reset') continue;
    handlers[`POST /nodes/{node}/${type}/{vmid}/status/${action}`] = (ctx) => {
      const g = guestOf(ctx, type);
      check(ctx, `/vms/${g.vmid}`, ['VM.PowerMgmt']);
      if (g.template && action === 'start') throw PveError.internal(`you can't start a vm if it's a template`);
      const upid = ctx.state.powerAction(g.vmid, action, ctx.subject.authId, ctx.powerTaskDurationS);
      return { data: upid };
    };
  }
}

function guestList(ctx: ApiContext, type: 'qemu' | 'lxc'): ApiResult {
  const node = nodeOf(ctx);
  const full = num(ctx, 'full') === 1;
  const out: Record<string, unknown>[] = [];
  for (const g of [...ctx.state.guests.values()].sort((a, b) => a.vmid - b.vmid)) {
    if (g.type !== type || g.node !== node.name) continue;
    if (!has(ctx, `/vms/${g.vmid}`, 'VM.Audit')) continue;
    out.push(guestListItem(ctx, g, full));
  }
  return { data: out };
}

function tokenPermission(ctx: ApiContext, userid: string): void {
  if (ctx.subject.authId === userid) return;
  if (!useridGroup(ctx, userid, ['User.Modify'])) throw PveError.permission('/access/groups', ['User.Modify']);
}

function poolDetail(ctx: ApiContext, poolid: string, type: string | undefined): Record<string, unknown> {
  const { state } = ctx;
  const pool = state.access.pools.get(poolid);
  if (!pool) throw PveError.internal(`pool '${poolid}' does not exist`);
  const members: Record<string, unknown>[] = [];
  if (type === undefined || type === 'qemu' || type === 'lxc') {
    for (const vmid of [...pool.vms].sort((a, b) => a - b)) {
      const g = state.guests.get(vmid);
      if (!g || (type !== undefined && g.type !== type)) continue;
      const r = resourceGuest(ctx, g);
      delete r.pool;
      members.push(r);
    }
  }
  if (type === undefined || type === 'storage') {
    for (const storeid of [...pool.storage].sort()) {
      const s = state.storages.find((x) => x.storage === storeid);
      if (!s) continue;
      const node = s.nodes.includes(state.localNode.name) ? state.localNode.name : (s.nodes[0] as string);
      members.push({
        id: `storage/${node}/${s.storage}`,
        storage: s.storage,
        node,
        type: 'storage',
        plugintype: s.plugintype,
        status: 'available',
        shared: s.shared,
        content: s.content,
        disk: Math.floor(s.maxdisk * s.diskFraction),
        maxdisk: s.maxdisk,
      });
    }
  }
  const r: Record<string, unknown> = { members };
  if (pool.comment !== undefined) r.comment = pool.comment;
  return r;
}

function updatePool(ctx: ApiContext): ApiResult {
  const poolid = str(ctx, 'poolid') as string;
  check(ctx, `/pool/${poolid}`, ['Pool.Allocate']);
  const pool = ctx.state.access.pools.get(poolid);
  if (!pool) throw PveError.internal(`pool '${poolid}' does not exist`);
  const del = num(ctx, 'delete') === 1;
  const allowMove = num(ctx, 'allow-move') === 1;
  if (ctx.params.comment !== undefined) pool.comment = str(ctx, 'comment') as string;
  for (const v of (str(ctx, 'vms') ?? '').split(/[,;\s]+/).filter(Boolean)) {
    const vmid = Number(v);
    check(ctx, `/vms/${vmid}`, ['VM.Allocate']);
    if (del) {
      if (!pool.vms.has(vmid)) throw PveError.internal(`VM ${vmid} is not a pool member`);
      pool.vms.delete(vmid);
      continue;
    }
    if (!ctx.state.guests.has(vmid)) throw PveError.internal(`VM ${vmid} does not exist`);
    const current = ctx.state.access.poolOfVm(vmid);
    if (current && current.poolid !== poolid) {
      if (!allowMove)
        throw PveError.internal(`VM ${vmid} belongs already to pool '${current.poolid}' and allow-move is not set`);
      check(ctx, `/pool/${current.poolid}`, ['Pool.Allocate']);
      current.vms.delete(vmid);
    }
    pool.vms.add(vmid);
  }
  for (const s of (str(ctx, 'storage') ?? '').split(/[,;\s]+/).filter(Boolean)) {
    check(ctx, `/storage/${s}`, ['Datastore.Allocate']);
    if (del) pool.storage.delete(s);
    else pool.storage.add(s);
  }
  ctx.state.access.touch();
  return { data: null };
}

function deletePool(ctx: ApiContext): ApiResult {
  const poolid = str(ctx, 'poolid') as string;
  check(ctx, `/pool/${poolid}`, ['Pool.Allocate']);
  const pool = ctx.state.access.pools.get(poolid);
  if (!pool) throw PveError.internal(`pool '${poolid}' does not exist`);
  if (pool.vms.size > 0 || pool.storage.size > 0) throw PveError.internal(`pool '${poolid}' is not empty`);
  ctx.state.access.pools.delete(poolid);
  ctx.state.access.acl.delete(`/pool/${poolid}`);
  ctx.state.access.touch();
  return { data: null };
}

// Scenario generator: builds clusters (nodes, storages, guests, pools, users/groups/tokens/ACLs,
// task history, cluster log and journal) from a spec and a seed. Same spec + seed + clock → same
// cluster. `demo` is the fixed scenario of `npm start` and the end-to-end tests; `scale` reaches
// 500 nodes / 15,000 guests / 100,000 tasks.
import { createHash } from 'node:crypto';
import { type Clock } from './clock.ts';
import { ClusterState, type SimGuest, type SimNode } from './model/cluster-state.ts';
import { Journal } from './model/journal.ts';
import { NodeTasks, statusIsError } from './model/tasks.ts';
import { Rng } from './rng.ts';

export interface ClusterSpec {
  name: string;
  /** Node names, or a count (names `<cluster>-n01`…). */
  nodes: string[] | number;
  /** Total guests, spread over the nodes. */
  guests: number;
  /** First vmid (default 100). */
  firstVmid?: number;
  pools: string[];
  /** Share of guests that are in no pool (default 0.12). */
  unpooledShare?: number;
  /** Extra generated users `user001@pve`… besides the fixed ones. */
  extraUsers?: number;
  /** Finished tasks per node in history. */
  tasksPerNode: number;
  /** History length in days (default 7). */
  historyDays?: number;
  /** Write cluster-log/journal traces only for history tasks of the last N hours (default: all). */
  traceHours?: number;
  /** Include the demo users, groups, tokens, ACLs and hygiene findings (default true). */
  demoAccess?: boolean;
  /** Running tasks at start (default 1). */
  runningTasks?: number;
  /** IANA time zone per node (default UTC): journal lines carry local time, `/nodes/{node}/time` reports it. */
  timezones?: Record<string, string>;
}

export interface ScenarioSpec {
  clusters: ClusterSpec[];
}

export const ROOT_TOKEN_NAME = 'tenantgate';
export const SYNC_USER = 'pvesync@pve';
export const SYNC_TOKEN_NAME = 'sync';
/** Custom role holding Sys.Syslog, granted beside PVEAuditor on `/` to the sync user and token. */
export const SYSLOG_ROLE = 'TenantgateSyslog';

export const DEMO_SCENARIO: ScenarioSpec = {
  clusters: [
    {
      name: 'alpha',
      nodes: ['pve-a1', 'pve-a2', 'pve-a3'],
      guests: 18,
      firstVmid: 100,
      pools: ['acme', 'globex', 'initech'],
      tasksPerNode: 110,
      runningTasks: 1,
    },
    {
      name: 'beta',
      nodes: ['pve-b1', 'pve-b2'],
      // A node that is not on UTC, as many real ones are not: its journal shows Berlin wall time.
      timezones: { 'pve-b2': 'Europe/Berlin' },
      guests: 12,
      firstVmid: 200,
      pools: ['acme', 'globex', 'initech'],
      tasksPerNode: 110,
      runningTasks: 1,
    },
  ],
};

export function scaleScenario(): ScenarioSpec {
  const clusters: ClusterSpec[] = [];
  for (let c = 1; c <= 20; c++) {
    clusters.push({
      name: `scale${String(c).padStart(2, '0')}`,
      nodes: 25,
      guests: 750,
      pools: Array.from(
        { length: 10 },
        (_, i) => `tenant${String(c).padStart(2, '0')}${String(i + 1).padStart(2, '0')}`,
      ),
      extraUsers: 40,
      tasksPerNode: 200,
      historyDays: 14,
      traceHours: 6,
      demoAccess: true,
      runningTasks: 5,
    });
  }
  return { clusters };
}

const TAG_SETS = ['prod', 'prod;web', 'dev', 'staging;db', 'web', 'db', 'ci', 'k8s;prod', 'backup-excluded'];
const WORDS = [
  'web',
  'db',
  'cache',
  'api',
  'worker',
  'ldap',
  'mail',
  'proxy',
  'build',
  'vpn',
  'mon',
  'git',
  'dns',
  'files',
];
const BACKUP_ERRORS = [
  'job failed with err -5 - Input/output error',
  "unable to create temporary directory '/mnt/pve/backup/dump/vzdump-qemu' - No space left on device",
  'VM is locked (snapshot)',
  "can't acquire lock '/var/run/vzdump.lock' - got timeout",
];
const AUTH_IPS = ['203.0.113.7', '198.51.100.23', '192.0.2.44', '203.0.113.90', '10.20.0.15'];

export interface BuiltCluster {
  state: ClusterState;
  rootToken: { tokenId: string; secret: string };
  syncToken: { tokenId: string; secret: string };
  /** Passwords of the users that can log in with POST /access/ticket. */
  passwords: Record<string, string>;
  ticketKey: Buffer;
}

export function buildCluster(spec: ClusterSpec, clock: Clock, seed: number): BuiltCluster {
  const rng = new Rng(seed).fork(spec.name);
  const state = new ClusterState(spec.name, clock, rng.int(1, 2 ** 31));
  const nowMs = clock.now();
  const nowS = Math.floor(nowMs / 1000);
  const historyDays = spec.historyDays ?? 7;
  const historyStart = nowS - historyDays * 86400;
  const nodeNames =
    typeof spec.nodes === 'number'
      ? Array.from({ length: spec.nodes }, (_, i) => `${spec.name}-n${String(i + 1).padStart(2, '0')}`)
      : spec.nodes;

  // ---- nodes and storage
  nodeNames.forEach((name, i) => {
    const bootedAtMs = nowMs - rng.int(2, 40) * 86400_000 - rng.int(0, 86399) * 1000;
    const journal = new Journal(name, rng.hex(32), rng.hex(32), bootedAtMs * 1000, spec.timezones?.[name] ?? 'UTC');
    const node: SimNode = {
      name,
      nodeid: i + 1,
      ip: `10.${10 + (seed % 50)}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      online: true,
      level: '',
      maxcpu: rng.pick([16, 32, 48, 64]),
      maxmem: rng.pick([64, 128, 256, 512]) * 1024 ** 3,
      maxdisk: rng.pick([100, 200, 480]) * 1024 ** 3,
      memFraction: 0.2 + rng.next() * 0.5,
      diskFraction: 0.05 + rng.next() * 0.4,
      cpuLoad: rng.next() * 0.4,
      bootedAtMs,
      sslFingerprint: fingerprintFrom(rng.hex(64)),
      nextPid: rng.int(2000, 900_000),
      journal,
      tasks: new NodeTasks(name),
    };
    state.nodes.set(name, node);
  });
  state.storages.push(
    {
      storage: 'local',
      plugintype: 'dir',
      content: 'iso,vztmpl,backup',
      shared: 0,
      nodes: nodeNames,
      maxdisk: 100 * 1024 ** 3,
      diskFraction: 0.3,
    },
    {
      storage: 'local-lvm',
      plugintype: 'lvmthin',
      content: 'rootdir,images',
      shared: 0,
      nodes: nodeNames,
      maxdisk: 800 * 1024 ** 3,
      diskFraction: 0.45,
    },
    {
      storage: 'ceph-vm',
      plugintype: 'rbd',
      content: 'images,rootdir',
      shared: 1,
      nodes: nodeNames,
      maxdisk: 20 * 1024 ** 4,
      diskFraction: 0.38,
    },
    {
      storage: 'backup',
      plugintype: 'pbs',
      content: 'backup',
      shared: 1,
      nodes: nodeNames,
      maxdisk: 40 * 1024 ** 4,
      diskFraction: 0.52,
    },
  );

  // ---- access configuration
  const acc = state.access;
  const passwords: Record<string, string> = {};
  const addUser = (
    userid: string,
    extra: Partial<{
      enable: 0 | 1;
      expire: number;
      firstname: string;
      lastname: string;
      email: string;
      comment: string;
    }> = {},
  ): void => {
    const password = `${userid.split('@')[0]}-${rng.hex(8)}`;
    passwords[userid] = password;
    acc.users.set(userid, {
      userid,
      enable: extra.enable ?? 1,
      expire: extra.expire ?? 0,
      password,
      ...stripUndefined(extra),
    });
  };
  addUser('root@pam', { email: 'root@example.invalid' });
  addUser(SYNC_USER, { comment: 'tenantgate pve-sync (read-only)' });
  acc.customRoles.set(SYSLOG_ROLE, new Set(['Sys.Syslog']));
  const root = state.addToken('root@pam', ROOT_TOKEN_NAME, {
    privsep: 0,
    comment: 'tenantgate full access (simulator)',
    secret: rng.uuid(),
  });
  const sync = state.addToken(SYNC_USER, SYNC_TOKEN_NAME, { privsep: 1, comment: 'pve-sync', secret: rng.uuid() });
  for (const member of [SYNC_USER, sync.fullId]) {
    state.grantAcl('/', member, 'PVEAuditor', 1);
    state.grantAcl('/', member, SYSLOG_ROLE, 1);
  }
  for (const pool of spec.pools)
    acc.pools.set(pool, { poolid: pool, comment: `Tenant ${pool}`, vms: new Set(), storage: new Set() });
  if (spec.pools[0]) acc.pools.get(spec.pools[0])?.storage.add('ceph-vm');

  if (spec.demoAccess !== false) {
    const [p1, p2, p3] = [
      spec.pools[0] ?? 'acme',
      spec.pools[1] ?? spec.pools[0] ?? 'acme',
      spec.pools[2] ?? spec.pools[0] ?? 'acme',
    ];
    addUser('alice@pve', {
      firstname: 'Alice',
      lastname: 'Anders',
      email: 'alice@acme.example',
      comment: `${p1} admin`,
    });
    addUser('bob@pve', { firstname: 'Bob', lastname: 'Berg', email: 'bob@globex.example' });
    addUser('carol@pve', { enable: 0, firstname: 'Carol', lastname: 'Carlsen', comment: 'left the company' });
    addUser('dave@pve', {
      firstname: 'Dave',
      lastname: 'Dvorak',
      email: 'dave@example.invalid',
      comment: 'contractor',
    });
    addUser('erin@pam', { firstname: 'Erin' });
    addUser('frank@pve', { expire: nowS + 30 * 86400, firstname: 'Frank', email: 'frank@initech.example' });
    acc.groups.set(`${p1}-admins`, {
      groupid: `${p1}-admins`,
      comment: `${p1} administrators`,
      members: new Set(['alice@pve', 'erin@pam']),
    });
    acc.groups.set(`${p2}-ops`, { groupid: `${p2}-ops`, members: new Set(['bob@pve']) });
    acc.groups.set(`${p3}-dev`, {
      groupid: `${p3}-dev`,
      comment: 'developers',
      members: new Set(['frank@pve', 'carol@pve']),
    });
    acc.groups.set('auditors', { groupid: 'auditors', members: new Set() });
    acc.customRoles.set('VMOperator', new Set(['VM.Audit', 'VM.Console', 'VM.PowerMgmt']));
    state.grantAcl(`/pool/${p1}`, `@${p1}-admins`, 'PVEVMAdmin', 1);
    state.grantAcl(`/pool/${p2}`, `@${p2}-ops`, 'VMOperator', 1);
    state.grantAcl(`/pool/${p2}`, 'bob@pve', 'PVEVMUser', 1);
    state.grantAcl(`/pool/${p3}`, `@${p3}-dev`, 'PVEVMUser', 1);
    state.grantAcl(`/pool/${p3}`, 'carol@pve', 'PVEVMAdmin', 1);
    state.grantAcl('/', 'dave@pve', 'Administrator', 1);
    state.grantAcl('/storage/backup', `@${p1}-admins`, 'PVEDatastoreUser', 0);
    state.addToken('alice@pve', 'ci', { privsep: 1, expire: 0, comment: 'CI pipeline' });
    state.grantAcl(`/pool/${p1}`, 'alice@pve!ci', 'VMOperator', 1);
    state.addToken('bob@pve', 'automation', { privsep: 0, expire: 0, comment: 'ansible' });
    state.addToken('frank@pve', 'monitoring', { privsep: 1, expire: nowS + 90 * 86400 });
    state.grantAcl('/', 'frank@pve!monitoring', 'PVEAuditor', 1);
  }
  for (let i = 1; i <= (spec.extraUsers ?? 0); i++) {
    const userid = `user${String(i).padStart(3, '0')}@pve`;
    addUser(userid, { firstname: `User ${i}` });
    const pool = spec.pools[i % Math.max(1, spec.pools.length)];
    if (pool) state.grantAcl(`/pool/${pool}`, userid, rng.pick(['PVEVMUser', 'PVEVMAdmin', 'PVEAuditor']), 1);
    if (i % 10 === 0)
      state.addToken(userid, 'api', {
        privsep: rng.chance(0.8) ? 1 : 0,
        expire: rng.chance(0.5) ? 0 : nowS + 180 * 86400,
      });
  }

  // ---- guests
  const firstVmid = spec.firstVmid ?? 100;
  const unpooled = spec.unpooledShare ?? 0.12;
  const guests: SimGuest[] = [];
  for (let i = 0; i < spec.guests; i++) {
    const vmid = firstVmid + i;
    const isTemplate = i === spec.guests - 1 && spec.guests > 3;
    const type = isTemplate ? 'qemu' : rng.chance(0.35) ? 'lxc' : 'qemu';
    const node = nodeNames[i % nodeNames.length] as string;
    const running = !isTemplate && rng.chance(0.65);
    const g: SimGuest = {
      vmid,
      type,
      node,
      name: isTemplate ? 'debian-13-template' : `${rng.pick(WORDS)}-${String(i + 1).padStart(2, '0')}`,
      status: 'stopped',
      paused: false,
      template: isTemplate ? 1 : 0,
      cpus: rng.pick([1, 2, 4, 8]),
      maxmem: rng.pick([1, 2, 4, 8, 16]) * 1024 ** 3,
      maxdisk: rng.pick([8, 16, 32, 64, 128]) * 1024 ** 3,
      maxswap: type === 'lxc' ? 512 * 1024 ** 2 : 0,
      diskFraction: 0.1 + rng.next() * 0.6,
      memFraction: 0.15 + rng.next() * 0.7,
      cpuLoad: rng.next() * 0.5,
      ioRate: rng.int(1_000, 500_000),
    };
    if (running) {
      g.status = 'running';
      g.startedAtMs = nowMs - rng.int(600, 30 * 86400) * 1000;
      g.pid = rng.int(1000, 4_000_000);
      if (type === 'qemu' && rng.chance(0.05)) g.paused = true;
    }
    if (rng.chance(0.6)) g.tags = rng.pick(TAG_SETS);
    if (rng.chance(0.08) && !isTemplate) g.hastate = running ? 'started' : 'stopped';
    if (!isTemplate && rng.chance(0.03)) g.lock = 'backup';
    const pool =
      isTemplate || rng.chance(unpooled) || spec.pools.length === 0 ? undefined : spec.pools[i % spec.pools.length];
    state.putGuest(g, pool);
    guests.push(g);
  }

  // ---- history: tasks, logins, auth failures, noise; appended in time order
  type Ev = { t: number; apply: () => void };
  const events: Ev[] = [];
  const traceFrom = spec.traceHours !== undefined ? nowS - spec.traceHours * 3600 : -Infinity;
  const users = [...acc.users.keys()].filter((u) => u !== 'root@pam');
  for (const node of state.nodes.values()) {
    const nodeGuests = guests.filter((g) => g.node === node.name);
    // Spread tasks evenly with jitter so start order matches end order on one node.
    const step = (nowS - 120 - historyStart) / Math.max(1, spec.tasksPerNode);
    for (let k = 0; k < spec.tasksPerNode; k++) {
      const starttime = Math.floor(historyStart + k * step + rng.next() * step * 0.5);
      const g = nodeGuests.length > 0 ? rng.pick(nodeGuests) : undefined;
      const task = pickTask(rng, g, node);
      const duration = task.type === 'vzdump' ? rng.int(60, Math.max(61, Math.floor(step * 0.4))) : rng.int(1, 20);
      const endtime = Math.min(starttime + duration, nowS - 1);
      const authId = rng.chance(0.7) ? 'root@pam' : rng.chance(0.5) ? rng.pick(users) : `${SYNC_USER}`;
      const actor = task.type === 'vzdump' ? 'root@pam' : authId;
      const traced = starttime >= traceFrom;
      events.push({
        t: endtime,
        apply: () => {
          const upid = state.addHistoricTask(node, {
            type: task.type,
            id: task.id,
            authId: actor,
            starttime,
            endtime,
            status: task.status,
          });
          if (traced) {
            const tag = task.type === 'vzdump' ? 'vzdump' : 'pvedaemon';
            const pid = state.daemonPid(node.name, tag);
            state.clusterLog.append({
              time: starttime,
              pri: 6,
              tag,
              pid,
              node: node.name,
              user: actor,
              msg: `starting task ${upid}`,
            });
            node.journal.append({
              usec: starttime * 1e6 + 1000,
              ident: tag,
              pid,
              msg: `<${actor}> starting task ${upid}`,
            });
            state.clusterLog.append({
              time: endtime,
              pri: statusIsError(task.status) ? 3 : 6,
              tag,
              pid,
              node: node.name,
              user: actor,
              msg: `end task ${upid} ${task.status}`,
            });
            node.journal.append({
              usec: endtime * 1e6 + 2000,
              ident: tag,
              pid,
              msg: `<${actor}> end task ${upid} ${task.status}`,
            });
          }
        },
      });
    }
    // Noise lines.
    const noiseCount = Math.max(4, Math.floor(spec.tasksPerNode / 4));
    for (let k = 0; k < noiseCount; k++) {
      const t = historyStart + rng.int(0, nowS - historyStart - 60);
      if (t < traceFrom) continue;
      const kind = rng.int(0, 3);
      events.push({
        t,
        apply: () =>
          node.journal.append({
            usec: t * 1e6 + rng.int(0, 999_999),
            ident: ['pvestatd', 'systemd', 'CRON', 'pveproxy'][kind] as string,
            ...(kind === 1 ? { pid: 1 } : { pid: state.daemonPid(node.name, String(kind)) }),
            msg: [
              'status update time (5.012 seconds)',
              'Starting pve-daily-update.service - Daily PVE download activities...',
              'pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)',
              'worker 1234 finished',
            ][kind] as string,
          }),
      });
    }
  }
  // Logins and failed logins (a brute-force burst and a spray from one IP).
  const local = nodeNames[0] as string;
  const loginCount = Math.max(6, Math.floor(spec.tasksPerNode / 10));
  for (let k = 0; k < loginCount; k++) {
    const t = nowS - rng.int(120, historyDays * 86400 - 60);
    if (t < traceFrom) continue;
    const user = rng.pick(['root@pam', ...users]);
    const ip = rng.pick(AUTH_IPS);
    events.push({ t, apply: () => state.addLogin(user, ip, t, rng.pick(nodeNames)) });
  }
  const burstAt = nowS - rng.int(3600, 6 * 3600);
  for (let k = 0; k < 10; k++)
    events.push({
      t: burstAt + k * 7,
      apply: () => state.addAuthFailure('root@pam', AUTH_IPS[0] as string, burstAt + k * 7, local),
    });
  const sprayAt = burstAt + 900;
  ['admin@pve', 'alice@pve', 'bob@pve', 'carol@pve', 'dave@pve', 'test@pam'].forEach((u, k) =>
    events.push({
      t: sprayAt + k * 20,
      apply: () => state.addAuthFailure(u, AUTH_IPS[1] as string, sprayAt + k * 20, local),
    }),
  );
  events.push({
    t: sprayAt + 200,
    apply: () => state.addLogin('alice@pve', AUTH_IPS[4] as string, sprayAt + 200, local),
  });

  // Old boot: journal lines before the node's boot carry the previous boot id.
  for (const node of state.nodes.values()) {
    const previousBoot = createHash('sha256').update(`${node.journal.bootId}:prev`).digest('hex').slice(0, 32);
    node.journal.reboot(previousBoot, (node.bootedAtMs - 30 * 86400_000) * 1000);
  }
  events.sort((a, b) => a.t - b.t);
  const currentBoot = new Map(
    [...state.nodes.values()].map((n) => [
      n.name,
      createHash('sha256').update(`${spec.name}:${n.name}:${seed}`).digest('hex').slice(0, 32),
    ]),
  );
  for (const ev of events) {
    for (const node of state.nodes.values()) {
      if (ev.t * 1000 >= node.bootedAtMs && node.journal.bootId !== currentBoot.get(node.name)) {
        node.journal.reboot(currentBoot.get(node.name) as string, node.bootedAtMs * 1000);
      }
    }
    ev.apply();
  }
  for (const node of state.nodes.values()) {
    if (node.journal.bootId !== currentBoot.get(node.name))
      node.journal.reboot(currentBoot.get(node.name) as string, node.bootedAtMs * 1000);
  }

  // ---- running tasks (e.g. a long backup still going)
  const runningCount = spec.runningTasks ?? 1;
  for (let k = 0; k < runningCount; k++) {
    const g = guests[(k * 7) % Math.max(1, guests.length)];
    if (!g) break;
    state.addTask({
      node: g.node,
      type: 'vzdump',
      id: String(g.vmid),
      user: 'root@pam',
      starttime: nowS - rng.int(30, 300),
      running: true,
      durationS: rng.int(900, 3600),
      tag: 'vzdump',
      reaped: false,
    });
  }

  return {
    state,
    rootToken: { tokenId: root.fullId, secret: root.secret },
    syncToken: { tokenId: sync.fullId, secret: sync.secret },
    passwords,
    ticketKey: Buffer.from(rng.hex(64), 'hex'),
  };
}

function pickTask(rng: Rng, g: SimGuest | undefined, node: SimNode): { type: string; id: string; status: string } {
  const r = rng.next();
  if (!g || r < 0.06) {
    const type = rng.pick(['aptupdate', 'srvreload', 'vncshell', 'spiceshell']);
    const id = type === 'srvreload' ? 'networking' : '';
    const status = type === 'srvreload' && rng.chance(0.1) ? "command 'ifreload -a' failed: exit code 1" : 'OK';
    void node;
    return { type, id, status };
  }
  const id = String(g.vmid);
  const p = g.type === 'qemu' ? 'qm' : 'vz';
  if (r < 0.45) {
    const failed = rng.chance(0.12);
    return { type: 'vzdump', id, status: failed ? rng.pick(BACKUP_ERRORS) : rng.chance(0.05) ? 'WARNINGS: 1' : 'OK' };
  }
  if (r < 0.6)
    return { type: `${p}start`, id, status: rng.chance(0.04) ? `start failed: QEMU exited with code 1` : 'OK' };
  if (r < 0.72) return { type: `${p}shutdown`, id, status: 'OK' };
  if (r < 0.78) return { type: `${p}stop`, id, status: 'OK' };
  if (r < 0.83) return { type: `${p}reboot`, id, status: 'OK' };
  if (r < 0.9) return { type: g.type === 'qemu' ? 'vncproxy' : 'vncproxy', id, status: 'OK' };
  if (r < 0.94) return { type: g.type === 'qemu' ? 'qmsnapshot' : 'vzsnapshot', id, status: 'OK' };
  if (r < 0.97)
    return {
      type: g.type === 'qemu' ? 'qmigrate' : 'vzmigrate',
      id,
      status: rng.chance(0.2) ? 'migration aborted' : 'OK',
    };
  return { type: g.type === 'qemu' ? 'qmconfig' : 'vzconfig', id, status: 'OK' };
}

function fingerprintFrom(hex: string): string {
  return (hex.toUpperCase().match(/../g) as string[]).join(':');
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

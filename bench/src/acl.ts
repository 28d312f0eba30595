// `npm run bench -- acl`: permission checks per second on a compiled model of 10,000 ACL lines,
// 2,000 users, 200 groups and 50 pools (plus 500 API tokens), generated deterministically.
// Metrics: compile_ms (median of 11 compiles of the parsed config), parse_ms (user.cfg text →
// UserConfig), checks_per_s (hasPrivilege over 2,000,000 random subject × path × privilege queries
// on a freshly compiled model: nearly every (subject, path) pair is new, every subject and path is
// seen for the first time somewhere in the run), checks_per_s_warm (the same kind of queries over a
// working set of 20,000 pairs), explain_per_s. The machine is shared: next to each wall-clock rate
// the `_cpu` variant divides by this process's CPU time instead (user + system, all threads), which
// other load skews far less; load_avg_1m is sampled before and after.
import { loadavg } from 'node:os';
import { AccessModel, builtinRoleSet, parseUserCfg, writeUserCfg } from '@tenantgate/pve-access';
import { report } from './report.ts';

const USERS = 2_000;
const GROUPS = 200;
const POOLS = 50;
const ACL_LINES = 10_000;
const TOKENS = 500;
const VMS = 5_000;
const STORAGES = 60;
const NODES = 16;

/** mulberry32: a small deterministic PRNG so every run measures the same model. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generateUserCfg(rand: () => number): { text: string; users: string[]; tokens: string[]; paths: string[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const roleSet = builtinRoleSet();
  const lines: string[] = [];
  const users = Array.from({ length: USERS }, (_, i) => `user${i}@${i % 5 === 0 ? 'pam' : 'pve'}`);
  const tokens: string[] = [];
  for (const [i, u] of users.entries()) {
    lines.push(`user:${u}:${i % 50 === 0 ? 0 : 1}:0::::::`);
    if (i % 4 === 0 && tokens.length < TOKENS) {
      lines.push(`token:${u}!t${i}:0:${rand() < 0.7 ? 1 : 0}::`);
      tokens.push(`${u}!t${i}`);
    }
  }
  const groups = Array.from({ length: GROUPS }, (_, i) => `g${i}`);
  const members = new Map(groups.map((g) => [g, [] as string[]]));
  for (const u of users) {
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) members.get(pick(groups))!.push(u);
  }
  for (const g of groups) lines.push(`group:${g}:${[...new Set(members.get(g))].join(',')}::`);
  const storages = Array.from({ length: STORAGES }, (_, i) => `store${i}`);
  const pools: string[] = [];
  for (let i = 0; i < POOLS; i++) pools.push(i < 40 ? `p${i}` : `p${i - 40}/sub${i}`);
  const perPool = Math.floor(VMS / POOLS);
  for (const [i, p] of pools.entries()) {
    const vms = Array.from({ length: perPool }, (_, k) => 100 + i * perPool + k);
    lines.push(`pool:${p}::${vms.join(',')}:${pick(storages)},${pick(storages)}:`);
  }
  const custom = Array.from({ length: 20 }, (_, i) => `Custom${i}`);
  for (const r of custom) {
    const privs = new Set(Array.from({ length: 1 + Math.floor(rand() * 6) }, () => pick(roleSet.privileges)));
    lines.push(`role:${r}:${[...privs].join(',')}:`);
  }
  const roles = [...Object.keys(roleSet.roles), ...custom];
  const vmPaths = Array.from({ length: VMS + 1000 }, (_, i) => `/vms/${100 + i}`); // 1,000 VMs in no pool
  const paths = [
    '/',
    '/vms',
    '/storage',
    '/nodes',
    '/pool',
    '/access',
    '/access/groups',
    '/sdn/zones',
    ...vmPaths,
    ...storages.map((s) => `/storage/${s}`),
    ...pools.map((p) => `/pool/${p}`),
    ...Array.from({ length: NODES }, (_, i) => `/nodes/node${i}`),
    ...groups.map((g) => `/access/groups/${g}`),
    ...Array.from({ length: 30 }, (_, i) => `/sdn/zones/z${i}`),
  ];
  for (let i = 0; i < ACL_LINES; i++) {
    const r = rand();
    const path =
      i < 20
        ? pick(['/', '/vms', '/storage', '/pool', '/nodes'])
        : r < 0.6
          ? pick(vmPaths)
          : r < 0.75
            ? `/pool/${pick(pools)}`
            : pick(paths);
    const m = rand();
    const member = m < 0.4 ? pick(users) : m < 0.9 ? `@${pick(groups)}` : pick(tokens);
    const role = rand() < 0.03 ? 'NoAccess' : pick(roles.filter((x) => x !== 'Administrator' || rand() < 0.1));
    lines.push(`acl:${rand() < 0.8 ? 1 : 0}:${path}:${member}:${role}:`);
  }
  return { text: `${lines.join('\n')}\n`, users, tokens, paths };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** CPU seconds (user + system) this process used since `start`. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

export async function run(): Promise<void> {
  const loadBefore = Number(loadavg()[0]!.toFixed(2));
  const rand = prng(20261123);
  const { text, users, tokens, paths } = generateUserCfg(rand);

  let t = performance.now();
  const { config, warnings } = parseUserCfg(text);
  const parseMs = performance.now() - t;
  const aclLines = writeUserCfg(config)
    .split('\n')
    .filter((l) => l.startsWith('acl:')).length;

  const compileTimes: number[] = [];
  const compileCpu: number[] = [];
  for (let i = 0; i < 11; i++) {
    const c = process.cpuUsage();
    t = performance.now();
    AccessModel.compile(config);
    compileTimes.push(performance.now() - t);
    compileCpu.push(cpuSeconds(c) * 1000);
  }

  const privileges = builtinRoleSet().privileges;
  const subjects = [...users, ...tokens, 'root@pam'];
  const N = 2_000_000;
  const qs = new Array<string>(N);
  const qp = new Array<string>(N);
  const qv = new Array<string>(N);
  for (let i = 0; i < N; i++) {
    qs[i] = subjects[Math.floor(rand() * subjects.length)]!;
    qp[i] = paths[Math.floor(rand() * paths.length)]!;
    qv[i] = privileges[Math.floor(rand() * privileges.length)]!;
  }

  // Cold: a fresh model, almost every (subject, path) pair seen for the first time.
  const cold = AccessModel.compile(config);
  let granted = 0;
  let c = process.cpuUsage();
  t = performance.now();
  for (let i = 0; i < N; i++) if (cold.hasPrivilege(qs[i]!, qp[i]!, qv[i]!)) granted++;
  const coldS = (performance.now() - t) / 1000;
  const coldCpu = cpuSeconds(c);

  // Warm: a working set of 20,000 (subject, path) pairs, queried 2,000,000 times.
  const warm = AccessModel.compile(config);
  const W = 20_000;
  for (let i = 0; i < W; i++) warm.hasPrivilege(qs[i]!, qp[i]!, qv[i]!);
  c = process.cpuUsage();
  t = performance.now();
  let warmGranted = 0;
  for (let i = 0; i < N; i++) {
    const j = i % W;
    if (warm.hasPrivilege(qs[j]!, qp[j]!, qv[i]!)) warmGranted++;
  }
  const warmS = (performance.now() - t) / 1000;
  const warmCpu = cpuSeconds(c);

  const E = 5_000;
  t = performance.now();
  for (let i = 0; i < E; i++) cold.explain(qs[i]!, qp[i]!, qv[i]!);
  const explainS = (performance.now() - t) / 1000;

  report(
    'acl',
    {
      checks_per_s: Math.round(N / coldS),
      checks_per_s_cpu: Math.round(N / coldCpu),
      checks_per_s_warm: Math.round(N / warmS),
      checks_per_s_warm_cpu: Math.round(N / warmCpu),
      compile_ms: Number(median(compileTimes).toFixed(2)),
      compile_cpu_ms: Number(median(compileCpu).toFixed(2)),
      parse_ms: Number(parseMs.toFixed(2)),
      explain_per_s: Math.round(E / explainS),
    },
    {
      model: {
        users: config.users.size,
        groups: config.groups.size,
        pools: config.pools.size,
        tokens: tokens.length,
        acl_entries: config.acl.length,
        acl_lines_canonical: aclLines,
        acl_lines_generated: ACL_LINES,
        parse_warnings: warnings.length,
      },
      queries: N,
      granted_fraction: Number((granted / N).toFixed(3)),
      warm_granted_fraction: Number((warmGranted / N).toFixed(3)),
      goals: { checks_per_s: 1_000_000, compile_ms: 50 },
      // Other processes on the machine skew every number; the 1-minute load average says how much.
      load_avg_1m: Number(loadavg()[0]!.toFixed(2)),
      load_avg_1m_before: loadBefore,
    },
  );
}

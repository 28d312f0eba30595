// Scripted PVE activity for the fault and scale-out tests: power actions, failing and succeeding
// tasks on tenant guests (so alerts fire and resolve), backups, failed logins from several IPs
// under unique user names, logins, new API tokens, ACL grants/revokes and guest moves between
// tenant pools. Deterministic for a seed; everything it does that a check needs is recorded.
import type { SimCluster, Simulator } from '@tenantgate/pve-sim';

const IPS = ['203.0.113.7', '203.0.113.8', '198.51.100.23', '192.0.2.44', '10.20.0.15'];
const FAILURES = [
  'start failed: QEMU exited with code 1',
  'job failed with err -5 - Input/output error',
  'command failed: storage is not online',
];
const TASK_TYPES = { qemu: ['qmstart', 'qmsnapshot', 'qmreboot'], lxc: ['vzstart', 'vzsnapshot', 'vzreboot'] };

export interface ActivityRecord {
  /** Failed logins, each with a user name used nowhere else. */
  authFailures: Array<{ cluster: string; user: string; ip: string }>;
  /** API tokens created (`user@realm!name`). */
  tokens: Array<{ cluster: string; tokenId: string }>;
  /** Guests whose pool changed (their events may belong to both tenants). */
  moved: Map<string, Set<number>>;
  /** Tasks started on guests of `tenantPools`. */
  tenantTasks: number;
  steps: number;
  skipped: number;
}

export interface ScriptedActivityOptions {
  seed: number;
  /** Pause between steps. */
  intervalMs: number;
  /** PVE pools (= tenant slugs) whose guests get failing tasks and moves. */
  tenantPools: string[];
  /** Guests left alone (e.g. the guests recovery probes use), per cluster. */
  reserved?: Map<string, Set<number>>;
}

export class ScriptedActivity {
  readonly record: ActivityRecord = {
    authFailures: [],
    tokens: [],
    moved: new Map(),
    tenantTasks: 0,
    steps: 0,
    skipped: 0,
  };
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #rng: () => number;
  #n = 0;

  constructor(
    private readonly sim: Simulator,
    private readonly options: ScriptedActivityOptions,
  ) {
    this.#rng = mulberry32(options.seed);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const tick = () => {
      if (!this.#running) return;
      this.step();
      this.#timer = setTimeout(tick, this.options.intervalMs);
    };
    this.#timer = setTimeout(tick, this.options.intervalMs);
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
  }

  /** Ends every running task in the simulator now (so the expected set of task events is final). */
  finishAll(): number {
    let n = 0;
    for (const c of this.sim.clusters) {
      c.state.settle();
      for (const node of c.state.nodes.values()) {
        for (const t of [...node.tasks.running.values()]) {
          c.finishTask(t.upid, t.plannedStatus);
          n++;
        }
      }
    }
    return n;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#rng() * items.length)]!;
  }

  #int(lo: number, hi: number): number {
    return lo + Math.floor(this.#rng() * (hi - lo + 1));
  }

  #free(c: SimCluster) {
    const reserved = this.options.reserved?.get(c.name) ?? new Set<number>();
    return [...c.state.guests.values()].filter((g) => !g.template && !reserved.has(g.vmid));
  }

  #tenantGuests(c: SimCluster) {
    return this.#free(c).filter((g) =>
      this.options.tenantPools.includes(c.state.access.poolOfVm(g.vmid)?.poolid ?? ''),
    );
  }

  /** One step; a step the model refuses (e.g. a token name taken) is counted as skipped. */
  step(): void {
    const c = this.#pick(this.sim.clusters);
    c.state.settle();
    const n = ++this.#n;
    this.record.steps++;
    const r = this.#rng();
    try {
      if (r < 0.25) {
        const g = this.#pick(this.#free(c));
        const action = g.status === 'running' ? this.#pick(['shutdown', 'reboot', 'stop'] as const) : 'start';
        c.state.powerAction(g.vmid, action, 'root@pam', this.#int(1, 3));
      } else if (r < 0.45) {
        const g = this.#pick(this.#tenantGuests(c));
        const failed = this.#rng() < 0.65;
        c.addTask({
          node: g.node,
          type: this.#pick(TASK_TYPES[g.type]),
          id: String(g.vmid),
          user: 'root@pam',
          status: failed ? this.#pick(FAILURES) : 'OK',
          durationS: this.#int(0, 2),
        });
        this.record.tenantTasks++;
      } else if (r < 0.52) {
        const g = this.#pick(this.#free(c));
        c.addTask({
          node: g.node,
          type: 'vzdump',
          id: String(g.vmid),
          user: 'root@pam',
          status: this.#rng() < 0.3 ? 'job failed with err -5 - Input/output error' : 'OK',
          durationS: this.#int(1, 4),
        });
      } else if (r < 0.67) {
        const user = `flt${this.options.seed}x${n}@pve`;
        const ip = this.#pick(IPS);
        c.state.addAuthFailure(user, ip, undefined, this.#pick([...c.state.nodes.keys()]));
        this.record.authFailures.push({ cluster: c.name, user, ip });
      } else if (r < 0.75) {
        c.addLogin(this.#pick(['alice@pve', 'bob@pve', 'erin@pam']), this.#pick(IPS));
      } else if (r < 0.83) {
        const t = c.addToken('alice@pve', `flt${this.options.seed}x${n}`, { privsep: 1, expire: 0 });
        this.record.tokens.push({ cluster: c.name, tokenId: t.tokenId });
      } else if (r < 0.93) {
        const pool = this.#pick(this.options.tenantPools);
        if (this.#rng() < 0.5) c.grantAcl(`/pool/${pool}`, 'frank@pve', 'PVEAuditor', 1);
        else c.revokeAcl(`/pool/${pool}`, 'frank@pve');
      } else {
        const g = this.#pick(this.#tenantGuests(c));
        const from = c.state.access.poolOfVm(g.vmid)?.poolid;
        const to = this.#pick(this.options.tenantPools.filter((p) => p !== from));
        c.moveGuestToPool(g.vmid, to);
        let set = this.record.moved.get(c.name);
        if (!set) this.record.moved.set(c.name, (set = new Set()));
        set.add(g.vmid);
      }
    } catch {
      this.record.skipped++;
    }
  }
}

/** A small seeded PRNG (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

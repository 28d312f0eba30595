// The end-to-end stack of test/src/harness.ts (simulator in this process, a fresh database, the
// three services as child processes) with what the fuzz and the bad-input corpus add: introspection
// on, extra service environment (the corpus raises the login throttles it would otherwise trip), a
// SQL client on the test database, and demo logins by name.
import pg from 'pg';
import type { DemoLogin, ServiceProcess } from '@tenantgate/stack';
import { startE2eStack, type E2eStack } from '../../src/harness.ts';

export interface FuzzStack extends E2eStack {
  sql: pg.Client;
  gateway: ServiceProcess;
  baseUrl: string;
  login(username: string): DemoLogin;
}

export interface FuzzStackOptions {
  /** Environment for every service (e.g. INTROSPECTION, LOGIN_IP_LIMIT, PVE_TIMEOUT_MS). */
  env?: Record<string, string>;
  pollIntervalMs?: number;
}

export async function startFuzzStack(label: string, options: FuzzStackOptions = {}): Promise<FuzzStack> {
  const stack = await startE2eStack(label, {
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    env: { INTROSPECTION: 'true', ...options.env },
  });
  const sql = new pg.Client({ connectionString: stack.db.url });
  try {
    await sql.connect();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return {
    ...stack,
    sql,
    gateway: stack.services.find((s) => s.label === 'gateway')!,
    baseUrl: new URL(stack.gatewayUrl).origin,
    login: (username) => {
      const l = stack.seed.logins.find((x) => x.username === username);
      if (!l) throw new Error(`no demo login ${username}`);
      return l;
    },
    stop: async () => {
      await sql.end().catch(() => {});
      await stack.stop();
    },
  };
}

/** Log lines of a service at level error or above, or that look like a crash. */
export function crashLines(logs: string[], service: string): string[] {
  return logs.filter((line) => {
    if (!line.startsWith(`[${service}]`)) return false;
    const body = line.slice(service.length + 3);
    try {
      const rec = JSON.parse(body) as { level?: number };
      return (rec.level ?? 30) >= 60;
    } catch {
      return /uncaught|unhandled|fatal|RangeError|TypeError|heap out of memory/i.test(body);
    }
  });
}

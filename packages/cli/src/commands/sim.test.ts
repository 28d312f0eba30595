// `tenantgate sim` as an operator runs it: the real bin shim in a child process, its first stdout line,
// one fingerprint-pinned HTTPS request per cluster, then SIGINT (to the process, and Ctrl-C to the whole
// process group as a terminal sends it): exit code 0 and no listener left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/tenantgate.mjs', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
// Start-up compiles the CLI with tsx and generates certificates; a generous bound only catches hangs.
const HANG_MS = 60_000;
const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

interface SimSummary {
  url: string;
  fingerprint: string;
  token: string;
  clusters: { name: string; url: string; fingerprint: string; token: string; syncToken: string }[];
}

interface RunningSim {
  child: ChildProcess;
  summary: SimSummary;
  /** Every stdout line so far. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

afterEach(() => {
  // Only if a test failed half-way: never leave a simulator of ours running.
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${HANG_MS} ms`)), HANG_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function startSim(...args: string[]): Promise<RunningSim> {
  // detached: its own process group, so a group-wide SIGINT (terminal Ctrl-C) reaches the shim and the CLI only.
  const child = spawn(process.execPath, [BIN, 'sim', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  const lines: string[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
      if (lines.length > 0) resolve(lines[0] as string);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`tenantgate sim exited (${code ?? signal}) before printing: ${stderr}`)),
    );
  });
  const summary = JSON.parse(await withDeadline(firstLine, 'first stdout line')) as SimSummary;
  return { child, summary, lines, exited };
}

/** The server certificate as PEM, read without trusting it (its fingerprint is checked by the caller). */
function peerCertificate(url: string): Promise<PeerCertificate> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

function pem(cert: PeerCertificate): string {
  const b64 =
    cert.raw
      .toString('base64')
      .match(/.{1,64}/g)
      ?.join('\n') ?? '';
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/**
 * GET with the certificate pinned by fingerprint, as PVE clients do: the server's own certificate is the only
 * trust anchor and `checkServerIdentity` accepts it only when its SHA-256 fingerprint is the expected one.
 */
async function pinnedGet(
  url: string,
  path: string,
  fingerprint: string,
  token: string,
): Promise<{ status: number; body: string }> {
  const ca = pem(await peerCertificate(url));
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        ca,
        agent: false,
        headers: { Authorization: `PVEAPIToken=${token}` },
        checkServerIdentity: (_host, cert) =>
          cert.fingerprint256 === fingerprint
            ? undefined
            : new Error(`certificate fingerprint ${cert.fingerprint256} is not the pinned ${fingerprint}`),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function connectOutcome(url: string): Promise<'connected' | string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = netConnect({ host: u.hostname, port: Number(u.port) }, () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('tenantgate sim', () => {
  it(
    'prints the endpoints as JSON first, serves pinned HTTPS, and exits 0 on SIGINT leaving no listener',
    async () => {
      const sim = await startSim('--scenario', 'demo', '--seed', '3', '--port', '0');
      const { summary } = sim;

      expect(summary.clusters.map((c) => c.name)).toEqual(['alpha', 'beta']);
      const first = summary.clusters[0]!;
      expect({ url: summary.url, fingerprint: summary.fingerprint, token: summary.token }).toEqual({
        url: first.url,
        fingerprint: first.fingerprint,
        token: first.token,
      });
      for (const c of summary.clusters) {
        expect(c.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        expect(c.fingerprint).toMatch(FINGERPRINT);
        expect(c.token).toMatch(/^root@pam!tenantgate=[0-9a-f-]{36}$/);
        expect(c.syncToken).toMatch(/^pvesync@pve!sync=[0-9a-f-]{36}$/);
      }
      expect(new Set(summary.clusters.map((c) => c.url)).size).toBe(2);
      expect(new Set(summary.clusters.map((c) => c.fingerprint)).size).toBe(2);

      for (const c of summary.clusters) {
        const res = await pinnedGet(c.url, '/api2/json/version', c.fingerprint, c.token);
        expect(res.status).toBe(200);
        expect((JSON.parse(res.body) as { data: { version: string } }).data.version).toMatch(/^\d+\.\d+/);
        // the sync token authenticates too (least-privilege role, but /version needs none)
        expect((await pinnedGet(c.url, '/api2/json/version', c.fingerprint, c.syncToken)).status).toBe(200);
      }
      // The pin is what decides: alpha's listener is refused under beta's fingerprint, before any request.
      const beta = summary.clusters[1]!;
      await expect(pinnedGet(first.url, '/api2/json/version', beta.fingerprint, first.token)).rejects.toThrow(
        /is not the pinned/,
      );

      sim.child.kill('SIGINT');
      expect(await withDeadline(sim.exited, 'exit after SIGINT')).toEqual({ code: 0, signal: null });
      expect(sim.lines).toHaveLength(1); // everything but the summary goes to stderr
      for (const c of summary.clusters) expect(await connectOutcome(c.url)).toBe('ECONNREFUSED');
    },
    3 * HANG_MS,
  );

  it(
    'Ctrl-C in a terminal (SIGINT to the whole process group, so the CLI sees it twice) still exits 0',
    async () => {
      const sim = await startSim('--scenario', 'demo', '--seed', '4', '--port', '0');
      const { clusters } = sim.summary;
      expect(
        (await pinnedGet(clusters[1]!.url, '/api2/json/version', clusters[1]!.fingerprint, clusters[1]!.token)).status,
      ).toBe(200);
      process.kill(-(sim.child.pid as number), 'SIGINT');
      expect(await withDeadline(sim.exited, 'exit after Ctrl-C')).toEqual({ code: 0, signal: null });
      for (const c of clusters) expect(await connectOutcome(c.url)).toBe('ECONNREFUSED');
    },
    3 * HANG_MS,
  );
});

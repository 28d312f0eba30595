#!/usr/bin/env node
// Entry point of `npm start`, `npm test`, `npm run bench` and `npm run e2e:faults`.
// Runs on the machine's Node (any version >= 20) with no dependencies: it obtains a project-local
// Node 24 and pnpm from the npm registry when needed, installs the workspace, makes sure a
// redis-server binary exists (Debian's package) unless REDIS_URL points elsewhere, and then hands
// over to the TypeScript stack runner (infra/stack/src/cli.ts) under Node 24.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const NODE_VERSION = '24.21.0';
const PNPM_VERSION = '10.34.9';
const TOOLS = join(ROOT, '.tools');

function log(msg) {
  process.stderr.write(`[bootstrap] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (res.error) throw res.error;
  if (res.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${res.status ?? res.signal}`);
  }
}

function hasCommand(name, env) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { env, stdio: 'ignore' }).status === 0;
}

function ensureNode() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 24) return dirname(process.execPath);
  const pkg = `node-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;
  const binDir = join(TOOLS, 'node', 'node_modules', '.bin');
  const nodeBin = join(binDir, 'node');
  const ok =
    existsSync(nodeBin) &&
    spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout?.trim() === `v${NODE_VERSION}`;
  if (!ok) {
    log(`system Node ${process.version} is older than 24; fetching ${pkg}@${NODE_VERSION} from the npm registry`);
    run('npm', [
      'i',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefix',
      join(TOOLS, 'node'),
      `${pkg}@${NODE_VERSION}`,
    ]);
  }
  return binDir;
}

function ensurePnpm(env) {
  const binDir = join(TOOLS, 'pnpm', 'node_modules', '.bin');
  const pnpmBin = join(binDir, 'pnpm');
  const ok =
    existsSync(pnpmBin) && spawnSync(pnpmBin, ['--version'], { encoding: 'utf8', env }).stdout?.trim() === PNPM_VERSION;
  if (!ok) {
    log(`installing pnpm@${PNPM_VERSION} into .tools/pnpm`);
    run('npm', ['i', '--no-save', '--no-audit', '--no-fund', '--prefix', join(TOOLS, 'pnpm'), `pnpm@${PNPM_VERSION}`], {
      env,
    });
  }
  return binDir;
}

function ensureRedis(env) {
  if (process.env.REDIS_URL || hasCommand('redis-server', env)) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      'redis-server is not installed and this is not root: install it (apt-get install redis-server) or set REDIS_URL',
    );
  }
  log("redis-server not found; installing Debian's redis-server package");
  // Keep apt from starting a system-wide Redis on :6379; the stack starts its own on loopback.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-qq'], { env: aptEnv });
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], { env: aptEnv });
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

function main() {
  const [command = 'start', ...rest] = process.argv.slice(2);
  const nodeBinDir = ensureNode();
  const env = { ...process.env, PATH: [nodeBinDir, process.env.PATH].join(delimiter), TURBO_TELEMETRY_DISABLED: '1' };
  const pnpmBinDir = ensurePnpm(env);
  env.PATH = [nodeBinDir, pnpmBinDir, join(ROOT, 'node_modules', '.bin'), process.env.PATH].join(delimiter);
  log('installing workspace dependencies (pnpm install --frozen-lockfile)');
  run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=append-only'], { cwd: ROOT, env });
  ensureRedis(env);

  const child = spawn(
    join(nodeBinDir, 'node'),
    ['--import', 'tsx', join(ROOT, 'infra', 'stack', 'src', 'cli.ts'), command, ...rest],
    {
      cwd: ROOT,
      env,
      stdio: 'inherit',
    },
  );
  // The terminal delivers Ctrl-C to the whole process group; the runner does the ordered shutdown.
  // Forward signals that arrive only here (kill PID) and wait for the runner to finish.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (child.exitCode === null) child.kill(sig);
    });
  }
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal ? 1 : 0));
  });
}

try {
  main();
} catch (err) {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
}

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { AccessModel, DEFAULT_PVE_VERSION, hygieneFindings, normalizePath, type FlagMap } from '@tenantgate/pve-access';
import { loadUserCfg } from './usercfg.ts';

interface CommonOptions {
  usercfg: string;
  pveVersion: string;
}

async function loadModel(opts: CommonOptions): Promise<AccessModel> {
  const { config } = await loadUserCfg(opts.usercfg, opts.pveVersion);
  const model = AccessModel.compile(config, { pveVersion: opts.pveVersion });
  for (const w of model.warnings) process.stderr.write(`warning: ${w}\n`);
  return model;
}

/**
 * Checks a subject against the model: an error message when the result would be meaningless
 * (malformed id, no such user or token), warnings where PVE computes a result but would refuse
 * the account at authentication.
 */
function subjectProblems(model: AccessModel, subject: string): { error?: string; warnings: string[] } {
  const info = model.describeSubject(subject);
  if (info.kind === 'invalid') {
    return { error: `invalid subject '${subject}': expected name@realm or name@realm!token`, warnings: [] };
  }
  if (info.kind === 'token' && !info.defined) {
    return { error: `unknown subject '${subject}': no such API token in the user.cfg`, warnings: [] };
  }
  if (info.kind === 'user' && !info.defined && !info.referenced) {
    return { error: `unknown subject '${subject}': no user entry in the user.cfg`, warnings: [] };
  }
  const warnings: string[] = [];
  if (info.kind === 'user' && !info.defined) {
    warnings.push(`'${subject}' has no user entry; PVE still computes its privileges from groups/ACLs naming it`);
  }
  const status = model.accountStatus(subject);
  if (status.exists && !status.canAuthenticate) {
    warnings.push(`${status.reasons.join('; ')}: PVE would refuse this subject at authentication`);
  }
  return { warnings };
}

function sortedMap(map: FlagMap): FlagMap {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function checkResult(model: AccessModel, subject: string, path: string): string {
  return JSON.stringify({
    subject,
    path,
    roles: sortedMap(model.roles(subject, path)),
    privs: model.permissions(subject, path),
  });
}

function requirePath(raw: string): string {
  const path = normalizePath(raw);
  if (path === null) throw new Error(`invalid path '${raw}': only letters, digits, '.', '-', '_' and '/' are allowed`);
  return path;
}

async function runSingle(model: AccessModel, subject: string, rawPath: string): Promise<void> {
  const path = requirePath(rawPath);
  const problems = subjectProblems(model, subject);
  if (problems.error) throw new Error(problems.error);
  for (const w of problems.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`${checkResult(model, subject, path)}\n`);
}

/** One output line per non-empty input line; bad lines get `{"line","error"}` and a non-zero exit. */
async function runBatch(model: AccessModel, file: string): Promise<number> {
  const input = file === '-' ? process.stdin : createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    if (file === '-') resolve();
    input.once('error', reject);
    input.once('open', () => resolve());
  });
  try {
    await opened;
  } catch (err) {
    throw new Error(`cannot read batch file '${file}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  const seen = new Map<string, { error?: string }>();
  let failures = 0;
  let lineNo = 0;
  let buffer: string[] = [];
  const flush = async (): Promise<void> => {
    if (buffer.length === 0) return;
    const ok = process.stdout.write(`${buffer.join('\n')}\n`);
    buffer = [];
    if (!ok) await once(process.stdout, 'drain');
  };
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    let out: string;
    try {
      let q: unknown;
      try {
        q = JSON.parse(line);
      } catch {
        throw new Error('not valid JSON');
      }
      const { subject, path } = (q ?? {}) as { subject?: unknown; path?: unknown };
      if (typeof subject !== 'string' || typeof path !== 'string') {
        throw new Error('expected an object {"subject": string, "path": string}');
      }
      const normalized = requirePath(path);
      let known = seen.get(subject);
      if (!known) {
        const problems = subjectProblems(model, subject);
        for (const w of problems.warnings) process.stderr.write(`warning: ${w}\n`);
        known = problems.error === undefined ? {} : { error: problems.error };
        seen.set(subject, known);
      }
      if (known.error) throw new Error(known.error);
      out = checkResult(model, subject, normalized);
    } catch (err) {
      failures++;
      const message = (err as Error).message;
      process.stderr.write(`error: ${file} line ${lineNo}: ${message}\n`);
      out = JSON.stringify({ line: lineNo, error: message });
    }
    buffer.push(out);
    if (buffer.length >= 1000) await flush();
  }
  await flush();
  if (failures > 0) process.stderr.write(`${failures} of the queries failed\n`);
  return failures > 0 ? 1 : 0;
}

/** `tenantgate acl …` — PVE permissions computed exactly as PVE computes them. */
export function register(program: Command): void {
  const acl = program.command('acl').description('PVE permissions from a user.cfg, computed exactly as PVE does');
  acl
    .command('check')
    .description(
      'print {"subject","path","roles","privs"}: roles = raw ACL role walk, privs = effective privileges (propagate flag 0|1)',
    )
    .requiredOption('--usercfg <file>', 'path to a PVE user.cfg')
    .option('--subject <id>', 'user (name@realm) or API token (name@realm!token)')
    .option('--path <path>', 'ACL path, e.g. /vms/100')
    .option('--batch <file>', 'JSONL file of {"subject","path"} queries ("-" = stdin); one result line each')
    .option('--pve-version <version>', 'PVE version of the built-in roles (e.g. 9.1, 8.4)', DEFAULT_PVE_VERSION)
    .action(async (opts: CommonOptions & { subject?: string; path?: string; batch?: string }) => {
      if (opts.batch !== undefined) {
        if (opts.subject !== undefined || opts.path !== undefined) {
          throw new Error('use either --batch or --subject/--path, not both');
        }
        const model = await loadModel(opts);
        process.exitCode = await runBatch(model, opts.batch);
        return;
      }
      if (opts.subject === undefined || opts.path === undefined) {
        throw new Error('acl check needs --subject and --path (or --batch FILE)');
      }
      await runSingle(await loadModel(opts), opts.subject, opts.path);
    });
  acl
    .command('explain')
    .description('explain which ACL entries, groups, pools and token rules give or deny a privilege')
    .requiredOption('--usercfg <file>', 'path to a PVE user.cfg')
    .requiredOption('--subject <id>', 'user (name@realm) or API token (name@realm!token)')
    .requiredOption('--path <path>', 'ACL path, e.g. /vms/100')
    .requiredOption('--priv <privilege>', 'privilege name, e.g. VM.PowerMgmt')
    .option('--json', 'print the structured explanation as JSON')
    .option('--pve-version <version>', 'PVE version of the built-in roles (e.g. 9.1, 8.4)', DEFAULT_PVE_VERSION)
    .action(async (opts: CommonOptions & { subject: string; path: string; priv: string; json?: boolean }) => {
      const model = await loadModel(opts);
      const path = requirePath(opts.path);
      const problems = subjectProblems(model, opts.subject);
      if (problems.error) throw new Error(problems.error);
      if (!model.privileges.includes(opts.priv)) {
        throw new Error(`unknown privilege '${opts.priv}' in PVE ${model.pveVersion}`);
      }
      const e = model.explain(opts.subject, path, opts.priv);
      process.stdout.write(opts.json ? `${JSON.stringify(e, null, 2)}\n` : `${e.sentences.join('\n')}\n`);
    });
  acl
    .command('hygiene')
    .description(
      'list risky access settings: tokens without expiry or privsep, admins on /, disabled users with grants',
    )
    .requiredOption('--usercfg <file>', 'path to a PVE user.cfg')
    .option('--now <epoch>', 'evaluate expiry at this time (epoch seconds; default: now)')
    .option('--json', 'print one JSON finding per line')
    .option('--pve-version <version>', 'PVE version of the built-in roles (e.g. 9.1, 8.4)', DEFAULT_PVE_VERSION)
    .action(async (opts: CommonOptions & { now?: string; json?: boolean }) => {
      if (opts.now !== undefined && !/^\d+$/.test(opts.now))
        throw new Error(`--now must be epoch seconds, not '${opts.now}'`);
      const { config } = await loadUserCfg(opts.usercfg, opts.pveVersion);
      const now = opts.now === undefined ? Math.floor(Date.now() / 1000) : Number(opts.now);
      const findings = hygieneFindings(config, { now, pveVersion: opts.pveVersion });
      const lines = findings.map((f) =>
        opts.json ? JSON.stringify(f) : `${f.severity.padEnd(8)} ${f.code.padEnd(21)} ${f.message}`,
      );
      if (!opts.json && lines.length === 0) lines.push('no findings');
      process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : '');
    });
}

// `tenantgate acl …` and `tenantgate usercfg …` run as real processes (the CLI entry under tsx)
// against temporary files. The user.cfg is ours; the rules behind the expected values are in
// acl-semantics.md (C4 replacement, C12 token intersection, B6 canonical writer).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../main.ts', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', main, ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const USERCFG = [
  'user:alice@pve:1:0::::::',
  'token:alice@pve!ci:0:1::',
  'user:bob@pve:0:0::::::',
  'group:devs:alice@pve,bob@pve,ghost@pve::',
  'role:Starter:VM.Audit,VM.PowerMgmt:',
  'acl:1:/vms:@devs:PVEVMUser:',
  'acl:1:/vms/100:alice@pve!ci:PVEVMAdmin:',
  'acl:0:/vms/200:alice@pve:Starter:',
  '',
].join('\n');

let dir: string;
let cfg: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tg-acl-cli-'));
  cfg = join(dir, 'user.cfg');
  await writeFile(cfg, USERCFG);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('tenantgate acl check', () => {
  it('prints the raw role walk and the effective privileges with propagate flags', async () => {
    const r = await cli(['acl', 'check', '--usercfg', cfg, '--subject', 'alice@pve', '--path', '/vms/200/']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      subject: 'alice@pve',
      path: '/vms/200',
      roles: { Starter: 0 },
      privs: { 'VM.Audit': 0, 'VM.PowerMgmt': 0 },
    });
  });

  it('intersects a privsep token with its owner in privs but not in roles', async () => {
    const r = await cli(['acl', 'check', '--usercfg', cfg, '--subject', 'alice@pve!ci', '--path', '/vms/100']);
    const out = JSON.parse(r.stdout);
    expect(out.roles).toEqual({ PVEVMAdmin: 1 });
    expect(out.privs['VM.PowerMgmt']).toBe(1);
    expect(out.privs['VM.Allocate']).toBeUndefined();
  });

  it('answers root@pam with Administrator and every privilege', async () => {
    const out = JSON.parse(
      (await cli(['acl', 'check', '--usercfg', cfg, '--subject', 'root@pam', '--path', '/'])).stdout,
    );
    expect(out.roles).toEqual({ Administrator: 1 });
    expect(Object.keys(out.privs)).toHaveLength(47);
  });

  it('warns (stderr) but answers for disabled users and group members without a user line', async () => {
    const bob = await cli(['acl', 'check', '--usercfg', cfg, '--subject', 'bob@pve', '--path', '/vms']);
    expect(bob.code).toBe(0);
    expect(bob.stderr).toMatch(/bob@pve' is disabled: PVE would refuse/);
    expect(bob.stderr).toMatch(/member 'ghost@pve' has no user entry/);
    const ghost = await cli(['acl', 'check', '--usercfg', cfg, '--subject', 'ghost@pve', '--path', '/vms']);
    expect(ghost.code).toBe(0);
    expect(JSON.parse(ghost.stdout).roles).toEqual({ PVEVMUser: 1 });
  });

  // Four independent CLI processes: started together, so a loaded machine does not add them up.
  it('fails clearly on unknown subjects, invalid paths and unreadable files', { timeout: 120_000 }, async () => {
    const [unknown, token, path, missing] = await Promise.all([
      cli(['acl', 'check', '--usercfg', cfg, '--subject', 'zed@pve', '--path', '/vms']),
      cli(['acl', 'check', '--usercfg', cfg, '--subject', 'alice@pve!nope', '--path', '/vms']),
      cli(['acl', 'check', '--usercfg', cfg, '--subject', 'alice@pve', '--path', '/vms/1 0']),
      cli(['acl', 'check', '--usercfg', join(dir, 'nope.cfg'), '--subject', 'a@pve', '--path', '/']),
    ]);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/unknown subject 'zed@pve'/);
    expect(token.stderr).toMatch(/unknown subject 'alice@pve!nope': no such API token/);
    expect(path.code).toBe(1);
    expect(path.stderr).toMatch(/invalid path '\/vms\/1 0'/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read user.cfg .*ENOENT/);
  });

  it('answers a batch with one line per query and flags bad lines without stopping', async () => {
    const queries = join(dir, 'q.jsonl');
    const lines = [];
    for (let i = 0; i < 3000; i++)
      lines.push(JSON.stringify({ subject: i % 2 ? 'alice@pve' : 'alice@pve!ci', path: `/vms/${i}` }));
    lines.splice(10, 0, 'not json', '{"subject":"x@pve"}', '', '{"subject":"nobody@pve","path":"/"}');
    await writeFile(queries, `${lines.join('\n')}\n`);
    const r = await cli(['acl', 'check', '--usercfg', cfg, '--batch', queries]);
    expect(r.code).toBe(1);
    const out = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(3003);
    expect(out.slice(10, 13)).toEqual([
      { line: 11, error: 'not valid JSON' },
      { line: 12, error: 'expected an object {"subject": string, "path": string}' },
      { line: 14, error: "unknown subject 'nobody@pve': no user entry in the user.cfg" },
    ]);
    expect(out[0]).toMatchObject({ subject: 'alice@pve!ci', path: '/vms/0', roles: {} });
    expect(out[13]).toMatchObject({ subject: 'alice@pve!ci', path: '/vms/10', privs: {} });
    expect(out.find((o) => o.path === '/vms/100' && o.subject === 'alice@pve!ci').privs['VM.Console']).toBe(1);
    expect(r.stderr).toMatch(/3 of the queries failed/);
  });
});

describe('tenantgate acl explain', () => {
  it('explains in sentences, or as JSON', async () => {
    const args = [
      'acl',
      'explain',
      '--usercfg',
      cfg,
      '--subject',
      'alice@pve!ci',
      '--path',
      '/vms/100',
      '--priv',
      'VM.Allocate',
    ];
    const text = await cli(args);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe('alice@pve!ci does NOT have VM.Allocate on /vms/100.');
    expect(text.stdout).toMatch(/owner alice@pve does not have it/);
    const json = JSON.parse((await cli([...args, '--json'])).stdout);
    expect(json).toMatchObject({ granted: false, subjectKind: 'token' });
    expect(json.steps).toContainEqual({
      kind: 'token-intersection',
      owner: 'alice@pve',
      tokenHas: true,
      ownerHas: false,
    });
  });

  it('rejects unknown privileges', async () => {
    const r = await cli([
      'acl',
      'explain',
      '--usercfg',
      cfg,
      '--subject',
      'alice@pve',
      '--path',
      '/',
      '--priv',
      'VM.Monitor',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown privilege 'VM.Monitor' in PVE 9.1.1/);
  });
});

describe('tenantgate acl hygiene', () => {
  it('lists the findings as text or JSON lines, evaluating expiry at --now', { timeout: 120_000 }, async () => {
    const [text, json, bad] = await Promise.all([
      cli(['acl', 'hygiene', '--usercfg', cfg, '--now', '1790000000']),
      cli(['acl', 'hygiene', '--usercfg', cfg, '--now', '1790000000', '--json']),
      cli(['acl', 'hygiene', '--usercfg', cfg, '--now', 'yesterday']),
    ]);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/member 'ghost@pve' has no user entry/); // the parse warning
    expect(text.stdout.split('\n')).toEqual([
      'medium   DISABLED_USER_GRANTED User bob@pve is disabled but still holds privileges through membership in @devs; remove the entries and group memberships (re-enabling the account would restore them).',
      'medium   TOKEN_NO_EXPIRY       API token alice@pve!ci never expires; set an expiry date and rotate it regularly.',
      '',
    ]);
    const parsed = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { code: string; subject: string });
    expect(parsed.map((f) => [f.code, f.subject])).toEqual([
      ['DISABLED_USER_GRANTED', 'bob@pve'],
      ['TOKEN_NO_EXPIRY', 'alice@pve!ci'],
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--now must be epoch seconds/);
  });
});

describe('tenantgate usercfg normalize', () => {
  it('prints the canonical writer output and parse warnings on stderr', async () => {
    const r = await cli(['usercfg', 'normalize', cfg]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'user:alice@pve:1:0::::::',
        'token:alice@pve!ci:0:1::',
        'user:bob@pve:0:0::::::',
        'user:root@pam:1:0::::::',
        '',
        'group:devs:alice@pve,bob@pve,ghost@pve::',
        '',
        '',
        'role:Starter:VM.Audit,VM.PowerMgmt:',
        '',
        'acl:1:/vms:@devs:PVEVMUser:',
        'acl:1:/vms/100:alice@pve!ci:PVEVMAdmin:',
        'acl:0:/vms/200:alice@pve:Starter:',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toMatch(/member 'ghost@pve' has no user entry/);
  });

  it('fails on an unreadable file', async () => {
    const r = await cli(['usercfg', 'normalize', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read user.cfg .*EISDIR/);
  });
});

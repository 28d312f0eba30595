import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import {
  GENESIS_HASH,
  keyIdOf,
  parseBundle,
  payloadDigest,
  recordHash,
  signCheckpoint,
  verifyBundle,
  type RecordCore,
} from '@tenantgate/audit-core';
import type { Em } from '@tenantgate/shared';
import { loginHeaders, seed, startHarness, type Harness, type Seed } from './testing/harness.ts';

// The gateway's auditExport is an audit-core bundle: verifiable offline (library and CLI), and
// one changed byte of a record makes it fail.

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const signingKey = { keyId: keyIdOf(publicKey), privateKey, publicKey };

let db: TestDatabase;
let h: Harness;
let s: Seed;
let tenant: string;
let dir: string;
let alice: Record<string, string>;

/** A real chain: `n` hashed records and signed checkpoints at `checkpointSeqs`, written like the auditor does. */
async function writeChain(em: Em, chainId: string, n: number, checkpointSeqs: number[]): Promise<void> {
  let prev = GENESIS_HASH;
  let prevSignature: string | null = null;
  const t0 = Date.parse('2026-11-01T00:00:00.000Z');
  await em.execute(`INSERT INTO audit_chain (chain_id, tenant_id, head_seq, head_hash) VALUES (?, ?, 0, '\\x00')`, [
    chainId,
    chainId,
  ]);
  for (let seq = 1; seq <= n; seq++) {
    const payload = { n: seq, note: `event ${seq}` };
    const at = (ms: number) => new Date(t0 + seq * 60_000 + ms).toISOString();
    const core: RecordCore = {
      chainId,
      tenantId: chainId,
      seq,
      eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
      dedupKey: `export-test-${seq}`,
      occurredAt: at(0),
      observedAt: at(500),
      recordedAt: at(900),
      source: 'pve.task',
      category: 'task',
      action: 'task.qmstart',
      outcome: 'success',
      actorType: 'pve-user',
      actorId: 'root@pam',
      actorPrincipal: 'root@pam',
      srcIp: '10.0.0.9',
      connectionId: null,
      node: 'pve1',
      targetType: 'guest',
      targetId: String(100 + seq),
      targetName: `vm-${seq}`,
      targetPath: `/vms/${100 + seq}`,
      upid: null,
      requestId: null,
      detection: 'reported',
      payloadDigest: payloadDigest(payload).toString('hex'),
    };
    const hash = recordHash(prev, core);
    await em.execute(
      `INSERT INTO audit_record (chain_id, seq, event_id, dedup_key, tenant_id, occurred_at, observed_at, recorded_at, source, category,
         action, outcome, actor_type, actor_id, actor_principal, src_ip, node, target_type, target_id, target_name, target_path,
         detection, payload, payload_digest, prev_hash, record_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?)`,
      [
        chainId,
        seq,
        core.eventId,
        core.dedupKey,
        chainId,
        core.occurredAt,
        core.observedAt,
        core.recordedAt,
        core.source,
        core.category,
        core.action,
        core.outcome,
        core.actorType,
        core.actorId,
        core.actorPrincipal,
        core.srcIp,
        core.node,
        core.targetType,
        core.targetId,
        core.targetName,
        core.targetPath,
        core.detection,
        JSON.stringify(payload),
        payloadDigest(payload),
        prev,
        hash,
      ],
    );
    prev = hash;
    if (checkpointSeqs.includes(seq)) {
      const cp = signCheckpoint(signingKey, {
        chainId,
        tenantId: chainId,
        seq,
        headHash: hash.toString('hex'),
        createdAt: at(1000),
        prevSignature,
      });
      await em.execute(
        `INSERT INTO audit_checkpoint (chain_id, seq, head_hash, created_at, prev_signature, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          chainId,
          seq,
          hash,
          cp.createdAt,
          prevSignature ? Buffer.from(prevSignature, 'base64') : null,
          cp.keyId,
          Buffer.from(cp.signature, 'base64'),
        ],
      );
      prevSignature = cp.signature;
    }
  }
  await em.execute(`UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE chain_id = ?`, [n, prev, chainId]);
}

beforeAll(async () => {
  db = await createTestDatabase('gateway_export');
  h = await startHarness(db.url, testRedisUrl(), uniquePrefix('gwx'), { auditPublicKeys: [publicKey] });
  s = await seed(h.em());
  const em = h.em();
  const [t] = await em.execute<Array<{ id: string }>>(
    `INSERT INTO tenant (slug, name) VALUES ('initech', 'Initech') RETURNING id`,
  );
  tenant = t!.id;
  await em.execute(
    `INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES (?, ?, 'tenant_admin', '{}')`,
    [s.users.alice, tenant],
  );
  await writeChain(em, tenant, 8, [3, 6]);
  alice = await loginHeaders(h, 'alice', s.password, tenant);
  dir = await mkdtemp(join(tmpdir(), 'tg-export-'));
});

afterAll(async () => {
  await h?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const EXPORT = `query($format: ExportFormat!, $filter: AuditLogFilter) {
  auditExport(format: $format, filter: $filter) { format records truncated data checkpoints { seq headHash keyId signature } }
}`;

async function exportBundle(format: 'JSONL' | 'CSV', filter?: Record<string, unknown>) {
  const res = await h.gql(EXPORT, { format, filter }, alice);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.auditExport;
}

async function cliVerify(file: string): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['packages/cli/bin/tenantgate.mjs', 'audit', 'verify', '--bundle', file],
      { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' } },
    );
    return { ok: true, output: stdout + stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Changes one byte inside the value of record `seq`'s targetName (vm-N → wm-N). */
function tamper(data: string, seq: number): string {
  const marker = `vm-${seq}"`;
  const i = data.indexOf(marker);
  expect(i).toBeGreaterThan(0);
  return `${data.slice(0, i)}w${data.slice(i + 1)}`;
}

describe('auditExport bundles', () => {
  it('exports a JSONL bundle with covering checkpoints and a passing verification report', async () => {
    const exp = await exportBundle('JSONL', { from: '2026-11-01T00:03:30.000Z', to: '2026-11-01T00:05:30.000Z' });
    expect(exp).toMatchObject({ format: 'JSONL', records: 2, truncated: false });
    expect(exp.checkpoints.map((c: { seq: string }) => c.seq)).toEqual(['3', '6']);
    const bundle = parseBundle(exp.data);
    // seq 4..5 selected; 6 is context up to the covering checkpoint (no payload)
    expect(bundle.records.map((r) => [r.seq, r.inRange])).toEqual([
      [4, true],
      [5, true],
      [6, false],
    ]);
    expect(bundle.records[2]!.payload).toBeNull();
    expect(bundle.verification?.ok).toBe(true);
    expect(verifyBundle(bundle, { trustedKeys: [publicKey] })).toMatchObject({
      ok: true,
      keysPinned: true,
      uncoveredSelectedRecords: 0,
    });
    const audited = await h
      .em()
      .execute(
        `SELECT event FROM audit_inbox WHERE event->>'action' = 'audit.exported' AND event->'tenantIds' @> ?::jsonb`,
        [JSON.stringify([tenant])],
      );
    expect(audited.length).toBeGreaterThanOrEqual(1);
  });

  it('is accepted by `tenantgate audit verify --bundle` and rejected after one byte of a record changes', async () => {
    const exp = await exportBundle('JSONL');
    expect(exp.records).toBe(8);
    const good = join(dir, 'bundle.jsonl');
    await writeFile(good, exp.data);
    const ok = await cliVerify(good);
    expect(ok.output).toMatch(/OK\s*$/);
    expect(ok.ok).toBe(true);

    const bad = join(dir, 'bundle-tampered.jsonl');
    await writeFile(bad, tamper(await readFile(good, 'utf8'), 5));
    expect(verifyBundle(parseBundle(await readFile(bad, 'utf8')), { trustedKeys: [publicKey] }).ok).toBe(false);
    const failed = await cliVerify(bad);
    expect(failed.ok).toBe(false);
    expect(failed.output).toContain('RECORD_HASH_MISMATCH');
  });

  it('exports CSV bundles that verify, and refuses filters a verifiable range cannot express', async () => {
    const exp = await exportBundle('CSV');
    const bundle = parseBundle(exp.data);
    expect(verifyBundle(bundle, { trustedKeys: [publicKey] }).ok).toBe(true);
    expect(verifyBundle(parseBundle(tamper(exp.data, 2)), { trustedKeys: [publicKey] }).ok).toBe(false);
    const res = await h.gql(EXPORT, { format: 'JSONL', filter: { action: 'task.qmstart' } }, alice);
    expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

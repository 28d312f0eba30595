// `tenantgate audit …` in-process against a real database: verify (pass, tamper → AUDIT_CHAIN_BROKEN),
// export → offline bundle verify (pass, edited file → fail), redact, prune.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { Redis } from 'ioredis';
import { keyIdOf } from '@tenantgate/audit-core';
import { AuditorService, insertInboxEvent, poolOf, type Db } from '@tenantgate/auditor';
import { createLogger, createOrm, type Orm } from '@tenantgate/shared';
import { createTestDatabase, testRedisUrl, uniquePrefix, type TestDatabase } from '@tenantgate/testing';
import { register } from './audit.ts';

let database: TestDatabase;
let orm: Orm;
let db: Db;
let redis: Redis;
let auditor: AuditorService;
let dir: string;
let keyFile: string;
let tenant: string;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');

async function cli(...args: string[]): Promise<string> {
  let buf = '';
  const program = new Command()
    .exitOverride()
    .configureOutput({ writeOut: (s) => (buf += s), writeErr: (s) => (buf += s) });
  register(program);
  const dbArgs = args.includes('--database-url') ? [] : ['--database-url', database.url];
  await program.parseAsync(['node', 'tenantgate', 'audit', ...args, ...dbArgs]);
  return buf;
}

beforeAll(async () => {
  database = await createTestDatabase('cliaudit');
  orm = await createOrm({ databaseUrl: database.url, poolMax: 4 });
  db = await poolOf(orm);
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
  auditor = new AuditorService({
    db,
    redis,
    signingKey: { keyId: keyIdOf(publicKey), privateKey, publicKey },
    logger: createLogger('cli-test', 'silent'),
    options: {
      queuePrefix: uniquePrefix('cli'),
      batchSize: 4,
      checkpointEveryRecords: 4,
      checkpointIntervalMs: 3_600_000,
      sweepIntervalMs: 3_600_000,
      monitorIntervalMs: 3_600_000,
      workerConcurrency: 1,
    },
  });
  const t = await db.query<{ id: string }>(`INSERT INTO tenant (slug, name) VALUES ('acme', 'Acme') RETURNING id`);
  tenant = t.rows[0]!.id;
  for (let i = 0; i < 12; i++) {
    const at = new Date(Date.parse('2026-11-10T00:00:00.000Z') + i * 60_000).toISOString();
    await insertInboxEvent(db, {
      eventId: randomUUID(),
      dedupKey: `portal:${i}`,
      source: 'portal',
      connectionId: null,
      occurredAt: at,
      observedAt: at,
      category: 'guest',
      action: 'guest.start',
      outcome: 'success',
      actor: { type: 'portal-user', id: 'alice', principal: null },
      tenantIds: [tenant],
      detection: 'reported',
      payload: { i, note: `secret-${i}` },
    });
  }
  await auditor.drainNow();
  dir = await mkdtemp(join(tmpdir(), 'tg-cli-'));
  keyFile = join(dir, 'audit.pub.pem');
  await writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }).toString());
});

afterAll(async () => {
  await auditor.stop();
  await redis.quit();
  await orm.close(true);
  await database.drop();
});

describe('tenantgate audit', () => {
  it('verify passes on an intact chain, by slug and for all chains', async () => {
    expect(await cli('verify', '--tenant', 'acme', '--public-key', keyFile)).toMatch(
      /^OK +chain .*: 12 records \(seq 1\.\.12\), 3 checkpoints/m,
    );
    expect(await cli('verify', '--public-key', keyFile)).toMatch(/OK/);
  });

  it('export writes a bundle that verifies offline; an edited bundle fails', async () => {
    for (const format of ['jsonl', 'csv']) {
      const file = join(dir, `acme.${format}`);
      const msg = await cli(
        'export',
        '--tenant',
        'acme',
        '--from',
        '2026-11-10T00:02:00Z',
        '--to',
        '2026-11-10T00:06:00Z',
        '--format',
        format,
        '--out',
        file,
        '--public-key',
        keyFile,
      );
      expect(msg).toMatch(/4 records \(seq 1\.\.8\), 2 checkpoints, verification OK/);
      expect(await cli('verify', '--bundle', file, '--public-key', keyFile)).toMatch(/OK\n$/);
      // offline: a database that does not exist (nothing listens on port 9) is never contacted
      const offline = ['--public-key', keyFile, '--database-url', 'postgres://nobody@127.0.0.1:9/none'];
      expect(await cli('verify', '--bundle', file, ...offline)).toMatch(/OK\n$/);
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace('secret-3', 'secret-X'));
      await expect(cli('verify', '--bundle', file, '--public-key', keyFile)).rejects.toMatchObject({
        code: 'AUDIT_CHAIN_BROKEN',
      });
    }
  });

  it('redact and prune keep the chain verifiable', async () => {
    expect(await cli('redact', '--tenant', 'acme', '--seq', '2', '--reason', 'GDPR erasure')).toMatch(/redacted/);
    expect(await cli('prune', '--tenant', 'acme', '--before', '2100-01-01T00:00:00Z')).toMatch(/pruned 12 records/);
    await auditor.drainNow(); // chains the export / redaction / retention audit events
    expect(await cli('verify', '--tenant', 'acme', '--public-key', keyFile)).toMatch(/^OK/);
    const audited = await db.query<{ action: string }>(
      `SELECT action FROM audit_record WHERE chain_id = $1 AND action LIKE 'audit.%' ORDER BY seq`,
      [tenant],
    );
    expect(audited.rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['audit.exported', 'audit.payload_redacted', 'audit.retention_pruned']),
    );
  });

  it('verify fails with AUDIT_CHAIN_BROKEN on tampering and raises AUDIT-001', async () => {
    const c = await db.connect();
    try {
      await c.query(`SET session_replication_role = replica`);
      await c.query(
        `UPDATE audit_record SET actor_id = 'mallory' WHERE chain_id = $1 AND seq = (SELECT max(seq) FROM audit_record WHERE chain_id = $1)`,
        [tenant],
      );
      await c.query(`SET session_replication_role = origin`);
    } finally {
      c.release();
    }
    await expect(cli('verify', '--tenant', 'acme', '--public-key', keyFile)).rejects.toMatchObject({
      code: 'AUDIT_CHAIN_BROKEN',
    });
    await auditor.start(); // seeds the rules; the start-up drain chains the verification failure
    await auditor.drainNow();
    const alerts = await db.query(
      `SELECT a.state FROM alert a JOIN alert_rule r ON r.id = a.rule_id WHERE r.code = 'AUDIT-001' AND a.tenant_id = $1`,
      [tenant],
    );
    expect(alerts.rows).toEqual([{ state: 'firing' }]);
  });

  it('refuses verification without a trusted key', async () => {
    await expect(cli('verify', '--tenant', 'acme')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

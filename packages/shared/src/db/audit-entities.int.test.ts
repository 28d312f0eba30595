// The audit/alert entities map onto the SQL schema: the ORM reads rows written by raw SQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@tenantgate/testing';
import { createOrm, type Orm } from './orm.ts';
import { AlertEventSchema, AlertSilenceSchema, AuditChainSchema, AuditCheckpointSchema } from './entities.ts';

let database: TestDatabase;
let orm: Orm;

beforeAll(async () => {
  database = await createTestDatabase('auditentities');
  orm = await createOrm({ databaseUrl: database.url, poolMax: 2 });
});
afterAll(async () => {
  await orm.close(true);
  await database.drop();
});

describe('audit and alert entities', () => {
  it('read chains, checkpoints, alert events and silences', async () => {
    const em = orm.em.fork();
    await em.execute(`INSERT INTO audit_chain (chain_id, head_seq, head_hash) VALUES ('provider', 3, '\\x01')`);
    await em.execute(
      `INSERT INTO audit_checkpoint (chain_id, seq, head_hash, created_at, key_id, signature) VALUES ('provider', 3, '\\x01', now(), 'k1', '\\x02')`,
    );
    await em.execute(
      `INSERT INTO alert_rule (id, code, kind, name, severity) VALUES ('00000000-0000-4000-8000-000000000001', 'X-1', 'k', 'n', 'low')`,
    );
    await em.execute(
      `INSERT INTO alert (id, rule_id, dedup_key, state, severity, title, first_seen_at, last_seen_at)
       VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'd', 'firing', 'low', 't', now(), now())`,
    );
    await em.execute(
      `INSERT INTO alert_event (alert_id, to_state) VALUES ('00000000-0000-4000-8000-000000000002', 'firing')`,
    );
    await em.execute(`INSERT INTO alert_silence (rule_code, until) VALUES ('X-1', now() + interval '1 hour')`);
    const chain = await em.findOneOrFail(AuditChainSchema, { chainId: 'provider' });
    expect(chain.headSeq).toBe(3);
    const [cp] = await em.find(AuditCheckpointSchema, { chainId: 'provider' });
    expect(cp).toMatchObject({ seq: 3, keyId: 'k1' });
    const [ev] = await em.find(AlertEventSchema, {});
    expect(ev).toMatchObject({ toState: 'firing', fromState: null });
    expect(typeof ev!.id).toBe('string');
    expect(await em.count(AlertSilenceSchema, { ruleCode: 'X-1' })).toBe(1);
  });
});

import { describe, it, expect, afterAll } from 'vitest';
import pg from 'pg';
import { createTestDatabase } from '@tenantgate/testing';

describe('migrations', async () => {
  const db = await createTestDatabase('migrations');
  afterAll(() => db.drop());

  it('created the schema in the template that test databases copy', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      );
      expect(rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining([
          'tenant',
          'guest',
          'pve_task',
          'audit_inbox',
          'audit_record',
          'alert',
          'alert_event',
          'mikro_orm_migrations',
        ]),
      );
    } finally {
      await client.end();
    }
  });
});

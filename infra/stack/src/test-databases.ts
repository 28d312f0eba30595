import pg from 'pg';
import { migrateDatabase } from '@tenantgate/shared';
import { withDatabase } from '@tenantgate/testing';

/** Creates (or re-creates) the migrated template database that test databases are copied from. */
export async function prepareTemplateDatabase(adminUrl: string, template: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${template}`);
    await admin.query(`CREATE DATABASE ${template}`);
  } finally {
    await admin.end();
  }
  await migrateDatabase(withDatabase(adminUrl, template));
}

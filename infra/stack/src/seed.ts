// The demo data of `npm start` and the end-to-end tests: three tenants, portal users of every
// role, the simulator's clusters as PVE connections, and tenant assignments by PVE pool.
// Idempotent: re-running updates connection URLs/fingerprints/secrets (the simulator makes new
// certificates and tokens on every start) and keeps everything else.
import pg from 'pg';
import { encryptSecret, hashPassword } from '@tenantgate/shared';
import { demoPassword } from './secrets.ts';

export const DEMO_TENANTS = [
  { slug: 'acme', name: 'Acme Corporation' },
  { slug: 'globex', name: 'Globex Industries' },
  { slug: 'initech', name: 'Initech' },
] as const;

/** Privileges of a demo tenant user's membership (PVE privilege names; Sys.Audit lets it read its tenant's audit log). */
export const DEMO_USER_PRIVILEGES = ['VM.Audit', 'VM.PowerMgmt', 'VM.Console', 'Sys.Audit'];

export interface DemoCluster {
  name: string;
  url: string;
  fingerprint: string;
  /** The least-privilege token pve-sync uses. */
  syncToken: { tokenId: string; secret: string };
}

export interface DemoLogin {
  username: string;
  password: string;
  role: 'portal_admin' | 'compliance_auditor' | 'tenant_admin' | 'tenant_user';
  tenant?: { id: string; slug: string; name: string };
}

export interface DemoSeed {
  logins: DemoLogin[];
  tenants: Array<{ id: string; slug: string; name: string }>;
  connections: Array<{ id: string; name: string }>;
}

export interface SeedOptions {
  databaseUrl: string;
  clusters: DemoCluster[];
  credentialsKey: Buffer;
  /** Known passwords by username; missing ones are generated and returned. */
  passwords: Record<string, string>;
  pollIntervalMs?: number;
}

export async function seedDemo(options: SeedOptions): Promise<DemoSeed> {
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    const tenants: DemoSeed['tenants'] = [];
    for (const t of DEMO_TENANTS) {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO tenant (slug, name) VALUES ($1, $2)
         ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [t.slug, t.name],
      );
      tenants.push({ id: rows[0]!.id, slug: t.slug, name: t.name });
    }

    const logins: DemoLogin[] = [];
    const user = async (username: string, role: DemoLogin['role'], tenant?: DemoSeed['tenants'][number]) => {
      const password = options.passwords[username] ?? demoPassword();
      const { rows } = await client.query<{ id: string; password_hash: string | null }>(
        'SELECT id, password_hash FROM portal_user WHERE lower(username) = lower($1)',
        [username],
      );
      let id = rows[0]?.id;
      if (!id) {
        const inserted = await client.query<{ id: string }>(
          `INSERT INTO portal_user (username, display_name, password_hash, is_portal_admin, is_compliance_auditor)
           VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [username, username, await hashPassword(password), role === 'portal_admin', role === 'compliance_auditor'],
        );
        id = inserted.rows[0]!.id;
      } else if (!options.passwords[username]) {
        await client.query('UPDATE portal_user SET password_hash = $2 WHERE id = $1', [
          id,
          await hashPassword(password),
        ]);
      }
      if (tenant) {
        await client.query(
          `INSERT INTO membership (user_id, tenant_id, role, privileges) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, tenant_id) DO NOTHING`,
          [id, tenant.id, role, role === 'tenant_user' ? DEMO_USER_PRIVILEGES : []],
        );
      }
      logins.push({ username, password, role, ...(tenant ? { tenant } : {}) });
    };
    await user('admin', 'portal_admin');
    await user('auditor', 'compliance_auditor');
    for (const t of tenants) {
      await user(`${t.slug}-admin`, 'tenant_admin', t);
      await user(`${t.slug}-user`, 'tenant_user', t);
    }

    const connections: DemoSeed['connections'] = [];
    for (const c of options.clusters) {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO pve_connection (name, base_url, fingerprint, token_id, secret_enc, poll_interval_ms)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO UPDATE SET base_url = EXCLUDED.base_url, fingerprint = EXCLUDED.fingerprint,
           token_id = EXCLUDED.token_id, secret_enc = EXCLUDED.secret_enc, updated_at = now()
         RETURNING id`,
        [
          c.name,
          c.url,
          c.fingerprint,
          c.syncToken.tokenId,
          encryptSecret(options.credentialsKey, c.syncToken.secret),
          options.pollIntervalMs ?? 5000,
        ],
      );
      const connectionId = rows[0]!.id;
      connections.push({ id: connectionId, name: c.name });
      // Each demo tenant owns the PVE pool of the same name on every cluster.
      for (const t of tenants) {
        await client.query(
          `INSERT INTO assignment (tenant_id, connection_id, kind, pool, valid_from)
           SELECT $1, $2, 'pool', $3, '2000-01-01T00:00:00Z'
           WHERE NOT EXISTS (SELECT 1 FROM assignment WHERE connection_id = $2 AND kind = 'pool' AND pool = $3 AND valid_to IS NULL)`,
          [t.id, connectionId, t.slug],
        );
      }
    }
    await client.query('COMMIT');
    return { logins, tenants, connections };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
}

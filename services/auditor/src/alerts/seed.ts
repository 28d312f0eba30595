import type { Db } from '../db.ts';
import { starterRules } from './catalog.ts';

/** Inserts the starter rules as provider-wide rows; existing rows (possibly tuned) are left alone. */
export async function seedStarterRules(db: Db): Promise<number> {
  const res = await db.query(
    `INSERT INTO alert_rule (tenant_id, code, kind, name, severity, params)
     SELECT NULL, code, kind, name, severity, params::jsonb
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(code, kind, name, severity, params)
     ON CONFLICT (code) WHERE tenant_id IS NULL DO NOTHING`,
    [
      starterRules.map((r) => r.code),
      starterRules.map((r) => r.kind),
      starterRules.map((r) => `${r.code} ${r.name}`),
      starterRules.map((r) => r.severity),
      starterRules.map((r) => JSON.stringify(r.params)),
    ],
  );
  return res.rowCount ?? 0;
}

// PVE connections: rows of pve_connection with the token secret sealed by AES-256-GCM
// (CREDENTIALS_KEY). The secret is opened only to build a client for one poll.
import { AppError, ErrorCode, decryptSecret, encryptSecret, type Em } from '@tenantgate/shared';
import { sqlOf } from './sql.ts';

export interface ConnectionRow {
  id: string;
  name: string;
  baseUrl: string;
  fingerprint: string | null;
  tokenId: string;
  pollIntervalMs: number;
  enabled: boolean;
}

export interface OpenConnection extends ConnectionRow {
  secret: string;
}

export interface NewConnection {
  name: string;
  baseUrl: string;
  fingerprint: string | null;
  tokenId: string;
  secret: string;
  pollIntervalMs?: number;
  enabled?: boolean;
}

const COLUMNS = `id, name, base_url AS "baseUrl", fingerprint, token_id AS "tokenId", poll_interval_ms AS "pollIntervalMs", enabled`;

/** Stores a connection with its secret sealed; returns its id. */
export async function createConnection(em: Em, key: Buffer, c: NewConnection): Promise<string> {
  const rows = await sqlOf(em).query<{ id: string }>(
    `INSERT INTO pve_connection (name, base_url, fingerprint, token_id, secret_enc, poll_interval_ms, enabled)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [
      c.name,
      c.baseUrl,
      c.fingerprint,
      c.tokenId,
      encryptSecret(key, c.secret),
      c.pollIntervalMs ?? 10_000,
      c.enabled ?? true,
    ],
  );
  return (rows[0] as { id: string }).id;
}

export async function listConnections(em: Em): Promise<ConnectionRow[]> {
  return await sqlOf(em).query<ConnectionRow>(`SELECT ${COLUMNS} FROM pve_connection ORDER BY name`);
}

/** The connection with its secret opened, or null when it does not exist. */
export async function openConnection(em: Em, key: Buffer, id: string): Promise<OpenConnection | null> {
  const rows = await sqlOf(em).query<ConnectionRow & { secretEnc: Buffer }>(
    `SELECT ${COLUMNS}, secret_enc AS "secretEnc" FROM pve_connection WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  const { secretEnc, ...rest } = row;
  let secret: string;
  try {
    secret = decryptSecret(key, secretEnc);
  } catch (err) {
    throw new AppError(
      ErrorCode.SYNC_CONNECTION_INVALID,
      `the secret of connection ${row.name} cannot be opened with CREDENTIALS_KEY`,
      { connection: row.name },
      { cause: err },
    );
  }
  return { ...rest, secret };
}

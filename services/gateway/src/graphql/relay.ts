import { AppError } from '@tenantgate/shared';

/** Opaque global ids: base64url("Type:key"). Foreign, malformed and unknown ids all end as NOT_FOUND. */
export type NodeType =
  | 'User'
  | 'Guest'
  | 'Tenant'
  | 'Task'
  | 'AuditRecord'
  | 'Alert'
  | 'AlertRule'
  | 'Connection'
  | 'Membership'
  | 'ApiToken'
  | 'Assignment';

export function toGlobalId(type: NodeType, key: string): string {
  return Buffer.from(`${type}:${key}`, 'utf8').toString('base64url');
}

export function fromGlobalId(id: string): { type: string; key: string } | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(id)) return null;
  const raw = Buffer.from(id, 'base64url').toString('utf8');
  const i = raw.indexOf(':');
  if (i <= 0) return null;
  return { type: raw.slice(0, i), key: raw.slice(i + 1) };
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The uuid key of a global id of `type`; anything else is NOT_FOUND (never a hint). */
export function uuidOf(id: string, type: NodeType, kind: string = type): string {
  const g = fromGlobalId(id);
  if (!g || g.type !== type || !UUID_RE.test(g.key)) throw AppError.notFound(kind);
  return g.key.toLowerCase();
}

/** Cursors: base64url(JSON of the sort key tuple). */
export function encodeCursor(values: unknown[]): string {
  return Buffer.from(JSON.stringify(values), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, arity: number): unknown[] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === arity) return v;
  } catch {
    // fall through
  }
  throw AppError.badInput('Invalid cursor');
}

/** Page size within [1, max]; default `def`. */
export function pageSize(first: number | null | undefined, max: number, def = 20): number {
  const n = first ?? def;
  if (!Number.isInteger(n) || n < 1 || n > max) throw AppError.badInput(`first must be between 1 and ${max}`);
  return n;
}

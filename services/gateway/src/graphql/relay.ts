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

/**
 * What each value of a cursor's sort key tuple must be: a forged cursor whose values have another
 * type is refused here as "Invalid cursor" instead of failing in SQL (masked as INTERNAL).
 */
export type CursorValue =
  /** An ISO-8601 timestamp (as encodeCursor wrote it). */
  | 'timestamp'
  /** A uuid. */
  | 'uuid'
  /** A non-negative bigint as a decimal string (e.g. an audit seq). */
  | 'bigint'
  /** Text (a sort column). */
  | 'text'
  /** A 32-bit integer (a numeric sort column). */
  | 'int';

/** ISO-8601 (`T`, as toISOString writes) or PostgreSQL's text form (`2026-11-23 10:00:00.123456+00`). */
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-](\d{2})(?::?(\d{2}))?)$/;

/** A timestamp PostgreSQL accepts, with a real calendar date (no Feb 30, no year 0). */
export function isTimestamp(v: string): boolean {
  const m = TIMESTAMP_RE.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(2000, mo - 1, d));
  day.setUTCFullYear(y);
  const zoneOk = m[9] === undefined || (Number(m[9]) <= 15 && Number(m[10] ?? 0) < 60);
  return y >= 1 && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && h < 24 && mi < 60 && sec < 60 && zoneOk;
}

const BIGINT_MAX = 9223372036854775807n;
/** Cursors encode one sort key; anything longer is not one of ours. */
const MAX_CURSOR_LENGTH = 2048;

function cursorValueOk(v: unknown, kind: CursorValue): boolean {
  switch (kind) {
    case 'timestamp':
      return typeof v === 'string' && isTimestamp(v);
    case 'uuid':
      return typeof v === 'string' && UUID_RE.test(v);
    case 'bigint':
      return typeof v === 'string' && /^\d{1,19}$/.test(v) && BigInt(v) <= BIGINT_MAX;
    case 'text':
      return typeof v === 'string' && v.length <= 1024 && !v.includes('\u0000') && v.isWellFormed();
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2 ** 31;
  }
}

/**
 * The sort key tuple of a cursor, each value checked against `kinds` (arity and types); anything
 * else is BAD_USER_INPUT "Invalid cursor".
 */
export function decodeCursor(cursor: string, kinds: readonly CursorValue[]): unknown[] {
  let v: unknown;
  try {
    if (cursor.length <= MAX_CURSOR_LENGTH) v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // refused below
  }
  if (Array.isArray(v) && v.length === kinds.length && kinds.every((k, i) => cursorValueOk(v[i], k))) return v;
  throw AppError.badInput('Invalid cursor');
}

/** Page size within [1, max]; default `def`. */
export function pageSize(first: number | null | undefined, max: number, def = 20): number {
  const n = first ?? def;
  if (!Number.isInteger(n) || n < 1 || n > max) throw AppError.badInput(`first must be between 1 and ${max}`);
  return n;
}

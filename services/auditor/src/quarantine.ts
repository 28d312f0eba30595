// Helpers of the poison-row path (inbox-processor.ts): which failures a row can be blamed for, how
// a failure is recorded, and how an event that could not be stored is made storable.

/**
 * SQLSTATE classes that say nothing about the row being processed: connection (08), resources
 * (53), object state / locks (55), operator intervention and cancels (57), system (58, XX),
 * transaction rollback — serialisation and deadlocks, retried elsewhere (40), an aborted
 * transaction (25P02).
 */
const SYSTEMIC_SQLSTATE = /^(08|40|53|55|57|58|F0|XX)|^25P02$/;

/**
 * True when a failure may be caused by the data of the rows being processed (bad values, a
 * constraint, a JSON or hashing error in the pipeline); false for failures of the database or the
 * connection, which must stop the pipeline instead of blaming (and in the end quarantining) rows.
 */
export function isRowLevelFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return !SYSTEMIC_SQLSTATE.test(code);
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return false; // ECONNRESET, ETIMEDOUT, …
  const message = err instanceof Error ? err.message : String(err);
  return !/connection terminated|connection refused|not queryable|timeout exceeded|Client has encountered a connection error/i.test(
    message,
  );
}

/** A short, storable description of a failure (SQLSTATE first when there is one). */
export function describeError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const text = typeof code === 'string' ? `${code}: ${message}` : message;
  return stripNul(text).slice(0, 2000);
}

function stripNul(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\\u0000') : s;
}

/**
 * A copy of a JSON value that PostgreSQL's jsonb accepts: NUL characters (which jsonb refuses) in
 * strings and keys become the six characters `\u0000`, non-finite numbers become null, and
 * anything that is not JSON (undefined, functions, bigint) becomes its string form. The original's
 * digest is kept beside it, so the change is evident.
 */
export function sanitizeForJsonb(value: unknown, depth = 0): unknown {
  if (depth > 200) return '[nested too deep]';
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') return stripNul(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map((v) => sanitizeForJsonb(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      out[stripNul(k)] = sanitizeForJsonb(v, depth + 1);
    }
    return out;
  }
  return stripNul(String(value));
}

import { randomUUID } from 'node:crypto';
import type { Request } from 'express';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The request id: the caller's `x-request-id` when it is a uuid, else a fresh one (stable per request). */
export function requestIdOf(req: Request): string {
  const known = (req as Request & { tgRequestId?: string }).tgRequestId;
  if (known) return known;
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && UUID_RE.test(given) ? given : randomUUID();
  (req as Request & { tgRequestId?: string }).tgRequestId = id;
  return id;
}

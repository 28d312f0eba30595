import { UpidFormatError } from './errors/upid-format-error.ts';

/** A decoded task id (formats.md §1). */
export interface Upid {
  node: string;
  pid: number;
  /** Process start in clock ticks since boot (8 or 9 hex digits on the wire). */
  pstart: number;
  /** Task start, Unix epoch seconds. */
  starttime: number;
  type: string;
  /** Object id (usually the vmid); may be empty. */
  id: string;
  /** The user part of the authenticated id (`user@realm`), also for token tasks. */
  user: string;
  /** Token name when the task was started by an API token (`user@realm!tokenid`). */
  tokenid?: string;
  /** The UPID exactly as given. */
  raw: string;
}

// PVE 9 / pve-common ≥ 8.3.1 parse regex, formats.md §1.1.
const UPID_RE =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;
const FIELD_RE = /^[^:\s/]*$/;
const NODE_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;

export function isUpid(value: string): boolean {
  return UPID_RE.test(value);
}

/** Splits an auth id `user@realm!token` into its user and token parts. */
export function splitAuthId(authId: string): { user: string; tokenid?: string } {
  const bang = authId.indexOf('!');
  return bang === -1 ? { user: authId } : { user: authId.slice(0, bang), tokenid: authId.slice(bang + 1) };
}

export function parseUpid(upid: string): Upid {
  if (typeof upid !== 'string') throw new UpidFormatError(String(upid), 'not a string');
  const m = UPID_RE.exec(upid);
  if (!m) throw new UpidFormatError(upid, explain(upid));
  const [, node, pid, pstart, starttime, type, id, authId] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const { user, tokenid } = splitAuthId(authId);
  const out: Upid = {
    node,
    pid: Number.parseInt(pid, 16),
    pstart: Number.parseInt(pstart, 16),
    starttime: Number.parseInt(starttime, 16),
    type,
    id,
    user,
    raw: upid,
  };
  if (tokenid !== undefined) out.tokenid = tokenid;
  return out;
}

/** Builds a UPID as PVE writes it: upper-case zero-padded hex, trailing colon. */
export function formatUpid(parts: Omit<Upid, 'raw'> & { raw?: string }): string {
  const hex = (n: number, field: string, max: number): string => {
    if (!Number.isInteger(n) || n < 0 || n > max)
      throw new UpidFormatError(`${field}=${n}`, `${field} must be an integer in 0..${max}`);
    return n.toString(16).toUpperCase().padStart(8, '0');
  };
  if (!NODE_RE.test(parts.node)) throw new UpidFormatError(parts.node, 'invalid node name');
  const authId = parts.tokenid !== undefined ? `${parts.user}!${parts.tokenid}` : parts.user;
  for (const [name, value, allowEmpty] of [
    ['type', parts.type, false],
    ['id', parts.id, true],
    ['user', authId, false],
  ] as const) {
    if (!FIELD_RE.test(value) || (!allowEmpty && value === '')) throw new UpidFormatError(value, `invalid ${name}`);
  }
  const upid = `UPID:${parts.node}:${hex(parts.pid, 'pid', 0xffffffff)}:${hex(parts.pstart, 'pstart', 0xfffffffff)}:${hex(parts.starttime, 'starttime', 0xffffffff)}:${parts.type}:${parts.id}:${authId}:`;
  return upid;
}

function explain(upid: string): string {
  if (!upid.startsWith('UPID:')) return 'does not start with "UPID:"';
  if (!upid.endsWith(':')) return 'missing the trailing colon';
  const fields = upid.slice(5, -1).split(':');
  if (fields.length !== 7) return `expected 7 fields, found ${fields.length}`;
  const [node, pid, pstart, starttime] = fields as [string, string, string, string];
  if (!NODE_RE.test(node)) return 'invalid node name';
  if (!/^[0-9A-Fa-f]{8}$/.test(pid)) return 'pid must be 8 hex digits';
  if (!/^[0-9A-Fa-f]{8,9}$/.test(pstart)) return 'pstart must be 8 or 9 hex digits';
  if (!/^[0-9A-Fa-f]{8}$/.test(starttime)) return 'starttime must be 8 hex digits';
  return 'type, id or user contains a forbidden character (or type/user is empty)';
}

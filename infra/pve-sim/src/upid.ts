// UPID generation per shared/pve/formats.md §1: `UPID:<node>:<pid %08X>:<pstart %08X>:<starttime %08X>:<type>:<id>:<user>:`.

export interface UpidFields {
  node: string;
  pid: number;
  /** Process start in clock ticks since boot; 9 hex digits once above 32 bits. */
  pstart: number;
  /** Task start, epoch seconds. */
  starttime: number;
  type: string;
  /** Usually the vmid; may be empty. */
  id: string;
  /** The authenticated id: `user@realm` or `user@realm!token`. */
  user: string;
}

const NODE_RE = /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const FIELD_RE = /^[^:\s/]+$/;
const OPTIONAL_FIELD_RE = /^[^:\s/]*$/;

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

export function formatUpid(f: UpidFields): string {
  if (!NODE_RE.test(f.node)) throw new RangeError(`invalid node name for a UPID: ${f.node}`);
  if (!FIELD_RE.test(f.type) || !OPTIONAL_FIELD_RE.test(f.id) || !FIELD_RE.test(f.user)) {
    throw new RangeError(`invalid UPID field in ${f.type}/${f.id}/${f.user}`);
  }
  if (f.pid < 0 || f.pid > 0xffffffff || f.starttime < 0 || f.starttime > 0xffffffff) {
    throw new RangeError('UPID pid/starttime out of range');
  }
  if (f.pstart < 0 || f.pstart > 0xfffffffff) throw new RangeError('UPID pstart out of range');
  return `UPID:${f.node}:${hex8(f.pid)}:${hex8(f.pstart)}:${hex8(f.starttime)}:${f.type}:${f.id}:${f.user}:`;
}

const UPID_RE =
  /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

/** Decodes a UPID the way PVE 9 does; `undefined` when PVE would answer "unable to parse worker upid". */
export function decodeUpid(upid: string): UpidFields | undefined {
  const m = UPID_RE.exec(upid);
  if (!m) return undefined;
  return {
    node: m[1] as string,
    pid: parseInt(m[2] as string, 16),
    pstart: parseInt(m[3] as string, 16),
    starttime: parseInt(m[4] as string, 16),
    type: m[5] as string,
    id: m[6] as string,
    user: m[7] as string,
  };
}

/** Splits a task's auth id into the API's `user` and `tokenid` fields. */
export function splitAuthId(authId: string): { user: string; tokenid?: string } {
  const bang = authId.indexOf('!', authId.lastIndexOf('@'));
  if (bang < 0) return { user: authId };
  return { user: authId.slice(0, bang), tokenid: authId.slice(bang + 1) };
}

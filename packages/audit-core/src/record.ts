// The audit record core and its hashes. The core is every field of a record except the payload
// itself (represented by its digest) and the chain links; hashing the digest instead of the
// payload lets a payload be redacted later without breaking the chain.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.ts';

/** Domain tags keep a record hash from ever colliding with a checkpoint or payload hash. */
export const RECORD_HASH_TAG = 'tenantgate.audit.record.v1\n';
export const PAYLOAD_DIGEST_TAG = 'tenantgate.audit.payload.v1\n';
/** `prev_hash` of the first record of every chain. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);
/** Chain id of events that no tenant owns (visible to Portal Admins and Compliance Auditors). */
export const PROVIDER_CHAIN_ID = 'provider';

export type Outcome = 'success' | 'failure' | 'unknown';
export type Detection = 'reported' | 'diff' | 'correlated';

/** Everything that `record_hash` commits to. Timestamps are ISO-8601 UTC with milliseconds. */
export interface RecordCore {
  chainId: string;
  tenantId: string | null;
  seq: number;
  eventId: string;
  dedupKey: string;
  occurredAt: string;
  observedAt: string;
  recordedAt: string;
  source: string;
  category: string;
  action: string;
  outcome: Outcome;
  actorType: string;
  actorId: string | null;
  actorPrincipal: string | null;
  srcIp: string | null;
  connectionId: string | null;
  node: string | null;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  targetPath: string | null;
  upid: string | null;
  requestId: string | null;
  detection: Detection;
  /** Hex SHA-256 of the canonical payload (see payloadDigest). */
  payloadDigest: string;
}

/** A stored record: the core, its payload (null once redacted) and its chain links. */
export interface ChainRecord extends RecordCore {
  payload: Record<string, unknown> | null;
  redactedAt: string | null;
  /** Hex. */
  prevHash: string;
  /** Hex. */
  recordHash: string;
}

const CORE_FIELDS = [
  'chainId',
  'tenantId',
  'seq',
  'eventId',
  'dedupKey',
  'occurredAt',
  'observedAt',
  'recordedAt',
  'source',
  'category',
  'action',
  'outcome',
  'actorType',
  'actorId',
  'actorPrincipal',
  'srcIp',
  'connectionId',
  'node',
  'targetType',
  'targetId',
  'targetName',
  'targetPath',
  'upid',
  'requestId',
  'detection',
  'payloadDigest',
] as const satisfies ReadonlyArray<keyof RecordCore>;

const SORTED_CORE_FIELDS = [...CORE_FIELDS].sort();

/**
 * RFC 8785 canonical JSON of the core. The core is flat with string/number/null values, for which
 * JCS is exactly sorted keys + ECMAScript JSON.stringify of each value; this fast path is checked
 * against the general `canonicalize` implementation in the tests.
 */
export function canonicalCore(core: RecordCore): string {
  let out = '{';
  for (let i = 0; i < SORTED_CORE_FIELDS.length; i++) {
    const f = SORTED_CORE_FIELDS[i]!;
    const v = core[f];
    if (v !== null && typeof v !== 'string' && !(typeof v === 'number' && Number.isSafeInteger(v))) {
      throw new TypeError(`record field ${f} must be a string, a safe integer or null`);
    }
    out += `${i === 0 ? '' : ','}"${f}":${JSON.stringify(v)}`;
  }
  return `${out}}`;
}

/** Picks exactly the core fields (extra properties of a wider object never leak into the hash). */
export function recordCoreOf(record: RecordCore): RecordCore {
  const core: Record<string, unknown> = {};
  for (const f of CORE_FIELDS) core[f] = record[f];
  return core as unknown as RecordCore;
}

/** SHA-256 over the domain tag and the RFC 8785 canonical JSON of the payload. */
export function payloadDigest(payload: Record<string, unknown>): Buffer {
  return createHash('sha256').update(PAYLOAD_DIGEST_TAG).update(canonicalJson(payload)).digest();
}

/** `SHA-256(domain tag ‖ prev_hash ‖ canonical JSON of the record core)`. */
export function recordHash(prevHash: Buffer, core: RecordCore): Buffer {
  if (prevHash.length !== 32) throw new Error(`prev_hash must be 32 bytes, got ${prevHash.length}`);
  return createHash('sha256').update(RECORD_HASH_TAG).update(prevHash).update(canonicalCore(core)).digest();
}

/** Normalises any accepted timestamp to the millisecond ISO form the chain stores and hashes. */
export function isoMillis(value: string | Date): string {
  const d = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(d.getTime())) throw new Error(`invalid timestamp: ${String(value)}`);
  return d.toISOString();
}

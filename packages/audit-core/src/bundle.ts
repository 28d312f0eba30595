// Compliance export bundles: one file (JSONL or CSV) holding a tenant's records for a time range,
// the context records that link them to signed checkpoints, the covering checkpoints, the public
// keys and the verification report made at export time. `verifyBundle` needs no database.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.ts';
import { keyIdOf, type Checkpoint } from './checkpoint.ts';
import type { ChainRecord } from './record.ts';
import { ChainVerifier, type Finding, type VerificationReport } from './verify.ts';

export const BUNDLE_FORMAT = 'tenantgate-audit-bundle';
const CSV_META = `#${BUNDLE_FORMAT} `;

export type BundleFileFormat = 'jsonl' | 'csv';

export interface BundleHeader {
  format: typeof BUNDLE_FORMAT;
  version: 1;
  chainId: string;
  tenantId: string | null;
  /** The requested range of occurred_at, [from, to). */
  from: string;
  to: string;
  exportedAt: string;
  exportedBy: string | null;
  /** First and last seq of the records in the bundle (selected and context records). */
  fromSeq: number;
  toSeq: number;
  /** Public keys (base64 SPKI DER) of the checkpoint signatures, by key id. */
  publicKeys: Array<{ keyId: string; spki: string }>;
}

/**
 * A record in a bundle. `inRange` records are the ones the export selected (with payload);
 * the others are context records between the anchoring checkpoints, without payload.
 */
export interface BundleRecord extends ChainRecord {
  inRange: boolean;
}

export interface AuditBundle {
  header: BundleHeader;
  checkpoints: Checkpoint[];
  records: BundleRecord[];
  /** The verification report made when the bundle was exported. */
  verification: BundleVerification | null;
}

export interface BundleVerification {
  ok: boolean;
  /** True when signatures were checked against keys given by the verifier, not the bundle's own. */
  keysPinned: boolean;
  selectedRecords: number;
  /** Selected records after the last covering checkpoint (not yet anchored by a signature). */
  uncoveredSelectedRecords: number;
  chain: VerificationReport;
  /** Bundle-level problems (header, range flags), in addition to the chain findings. */
  problems: string[];
}

export interface VerifyBundleOptions {
  /** Keys the verifier trusts. Without them the bundle's own keys are used and `keysPinned` is false. */
  trustedKeys?: readonly KeyObject[];
}

/** Verifies a bundle offline: record hashes, links, checkpoint signatures and coverage. */
export function verifyBundle(bundle: AuditBundle, options: VerifyBundleOptions = {}): BundleVerification {
  const { header } = bundle;
  const problems: string[] = [];
  if (header.format !== BUNDLE_FORMAT || header.version !== 1)
    problems.push(`unsupported bundle format ${header.format} v${header.version}`);
  const keys = new Map<string, KeyObject>();
  const pinned = (options.trustedKeys?.length ?? 0) > 0;
  if (pinned) for (const k of options.trustedKeys ?? []) keys.set(keyIdOf(k), k);
  else {
    for (const k of header.publicKeys) {
      const key = createPublicKey({ key: Buffer.from(k.spki, 'base64'), format: 'der', type: 'spki' });
      if (keyIdOf(key) !== k.keyId) problems.push(`public key ${k.keyId} does not match its key id`);
      else keys.set(k.keyId, key);
    }
  }
  const verifier = new ChainVerifier({
    chainId: header.chainId,
    tenantId: header.tenantId,
    publicKeys: keys,
    checkpoints: bundle.checkpoints,
    startSeq: header.fromSeq,
    checkpointsFromGenesis: false,
  });
  const from = Date.parse(header.from);
  const to = Date.parse(header.to);
  const sorted = [...bundle.records].sort((a, b) => a.seq - b.seq);
  let selected = 0;
  for (const r of sorted) {
    const t = Date.parse(r.occurredAt);
    if (r.inRange !== (t >= from && t < to)) problems.push(`record ${r.seq}: inRange flag disagrees with occurred_at`);
    if (r.inRange) selected++;
    verifier.add(r, { payloadOmitted: !r.inRange });
  }
  const chain = verifier.finish();
  const last = sorted.at(-1);
  if (sorted.length === 0 && header.toSeq >= header.fromSeq) problems.push('bundle holds no records');
  if (last && last.seq !== header.toSeq) problems.push(`bundle ends at seq ${last.seq}, header says ${header.toSeq}`);
  const covered = chain.coveredThroughSeq ?? header.fromSeq - 1;
  const uncovered = sorted.filter((r) => r.inRange && r.seq > covered).length;
  return {
    ok: chain.ok && problems.length === 0,
    keysPinned: pinned,
    selectedRecords: selected,
    uncoveredSelectedRecords: uncovered,
    chain,
    problems,
  };
}

// ───────────────────────────── serialisation ─────────────────────────────

const CSV_COLUMNS = [
  'in_range',
  'chain_id',
  'tenant_id',
  'seq',
  'event_id',
  'dedup_key',
  'occurred_at',
  'observed_at',
  'recorded_at',
  'source',
  'category',
  'action',
  'outcome',
  'actor_type',
  'actor_id',
  'actor_principal',
  'src_ip',
  'connection_id',
  'node',
  'target_type',
  'target_id',
  'target_name',
  'target_path',
  'upid',
  'request_id',
  'detection',
  'payload',
  'payload_digest',
  'redacted_at',
  'prev_hash',
  'record_hash',
] as const;

const FIELD_OF: Record<(typeof CSV_COLUMNS)[number], keyof BundleRecord> = {
  in_range: 'inRange',
  chain_id: 'chainId',
  tenant_id: 'tenantId',
  seq: 'seq',
  event_id: 'eventId',
  dedup_key: 'dedupKey',
  occurred_at: 'occurredAt',
  observed_at: 'observedAt',
  recorded_at: 'recordedAt',
  source: 'source',
  category: 'category',
  action: 'action',
  outcome: 'outcome',
  actor_type: 'actorType',
  actor_id: 'actorId',
  actor_principal: 'actorPrincipal',
  src_ip: 'srcIp',
  connection_id: 'connectionId',
  node: 'node',
  target_type: 'targetType',
  target_id: 'targetId',
  target_name: 'targetName',
  target_path: 'targetPath',
  upid: 'upid',
  request_id: 'requestId',
  detection: 'detection',
  payload: 'payload',
  payload_digest: 'payloadDigest',
  redacted_at: 'redactedAt',
  prev_hash: 'prevHash',
  record_hash: 'recordHash',
};

/** Serialises a bundle. JSONL: one JSON object per line. CSV: records as rows, the rest as `#` lines. */
export function serializeBundle(bundle: AuditBundle, format: BundleFileFormat): string {
  const meta = [
    { type: 'header', ...bundle.header },
    ...bundle.checkpoints.map((cp) => ({ type: 'checkpoint', ...cp })),
  ];
  const trailer = bundle.verification ? [{ type: 'verification', ...bundle.verification }] : [];
  if (format === 'jsonl') {
    const lines = [...meta, ...bundle.records.map((r) => ({ type: 'record', ...r })), ...trailer].map((o) =>
      JSON.stringify(o),
    );
    return `${lines.join('\n')}\n`;
  }
  const out: string[] = meta.map((m) => CSV_META + JSON.stringify(m));
  out.push(CSV_COLUMNS.join(','));
  for (const r of bundle.records) {
    out.push(
      CSV_COLUMNS.map((c) => {
        const v = r[FIELD_OF[c]];
        if (c === 'payload') return csvField(v === null ? null : canonicalJson(v));
        return csvField(v === null ? null : String(v));
      }).join(','),
    );
  }
  for (const t of trailer) out.push(CSV_META + JSON.stringify(t));
  return `${out.join('\r\n')}\r\n`;
}

/** Null is an empty unquoted field; every string (the empty one too) is quoted. */
function csvField(v: string | null): string {
  return v === null ? '' : `"${v.replaceAll('"', '""')}"`;
}

/** Parses a bundle file of either format. Throws on malformed input. */
export function parseBundle(text: string): AuditBundle {
  return text.startsWith(CSV_META) ? parseCsvBundle(text) : parseJsonlBundle(text);
}

function assemble(items: Array<Record<string, unknown>>, records: BundleRecord[]): AuditBundle {
  let header: BundleHeader | undefined;
  let verification: BundleVerification | null = null;
  const checkpoints: Checkpoint[] = [];
  for (const item of items) {
    const { type, ...rest } = item;
    if (type === 'header') header = rest as unknown as BundleHeader;
    else if (type === 'checkpoint') checkpoints.push(rest as unknown as Checkpoint);
    else if (type === 'verification') verification = rest as unknown as BundleVerification;
    else if (type === 'record') records.push(rest as unknown as BundleRecord);
    else throw new Error(`unknown bundle line type ${String(type)}`);
  }
  if (!header || header.format !== BUNDLE_FORMAT) throw new Error('not a tenantgate audit bundle (header missing)');
  return { header, checkpoints, records, verification };
}

function parseJsonlBundle(text: string): AuditBundle {
  const items = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`bundle line ${i + 1} is not JSON`);
      }
    });
  return assemble(items, []);
}

function parseCsvBundle(text: string): AuditBundle {
  const meta: Array<Record<string, unknown>> = [];
  const rows: Array<Array<string | null>> = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith(CSV_META, i)) {
      const end = text.indexOf('\n', i);
      const line = text.slice(i + CSV_META.length, end === -1 ? text.length : end).replace(/\r$/, '');
      meta.push(JSON.parse(line) as Record<string, unknown>);
      i = end === -1 ? text.length : end + 1;
      continue;
    }
    const [row, next] = readCsvRow(text, i);
    rows.push(row);
    i = next;
  }
  const [head, ...body] = rows;
  if (!head || head.join(',') !== CSV_COLUMNS.join(',')) throw new Error('CSV bundle has an unexpected column header');
  const records = body.map((cells) => {
    const r: Record<string, unknown> = {};
    CSV_COLUMNS.forEach((c, idx) => {
      const v = cells[idx] ?? null;
      const f = FIELD_OF[c];
      if (c === 'seq') r[f] = Number(v);
      else if (c === 'in_range') r[f] = v === 'true';
      else if (c === 'payload') r[f] = v === null ? null : JSON.parse(v);
      else r[f] = v;
    });
    return r as unknown as BundleRecord;
  });
  return assemble(meta, records);
}

/** Reads one RFC 4180 row from `pos`; returns the cells (null for empty unquoted) and the next position. */
function readCsvRow(text: string, pos: number): [Array<string | null>, number] {
  const cells: Array<string | null> = [];
  let i = pos;
  for (;;) {
    let cell: string | null;
    if (text[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) throw new Error('unterminated quoted CSV field');
        s += text.slice(i, q);
        if (text[q + 1] === '"') {
          s += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      cell = s;
    } else {
      let j = i;
      while (j < text.length && text[j] !== ',' && text[j] !== '\r' && text[j] !== '\n') j++;
      cell = j === i ? null : text.slice(i, j);
      i = j;
    }
    cells.push(cell);
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    return [cells, i];
  }
}

/** Summarises findings for humans (CLI output). */
export function describeFindings(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.code}${f.seq === null ? '' : ` at seq ${f.seq}`}: ${f.message}`);
}

export interface CreateBundleInput {
  chainId: string;
  tenantId: string | null;
  from: string;
  to: string;
  exportedAt: string;
  exportedBy: string | null;
  /** Contiguous records from the anchoring checkpoint to the covering one (see the exporter). */
  records: readonly ChainRecord[];
  checkpoints: readonly Checkpoint[];
  /** The keys whose signatures the checkpoints carry. */
  publicKeys: readonly KeyObject[];
}

/** Marks the selected records, strips payloads of context records, and verifies the result. */
export function createBundle(input: CreateBundleInput): AuditBundle {
  const from = Date.parse(input.from);
  const to = Date.parse(input.to);
  const records: BundleRecord[] = input.records.map((r) => {
    const t = Date.parse(r.occurredAt);
    const inRange = t >= from && t < to;
    return { ...r, payload: inRange ? r.payload : null, inRange };
  });
  const first = records[0];
  const last = records.at(-1);
  const usedKeyIds = new Set(input.checkpoints.map((c) => c.keyId));
  const header: BundleHeader = {
    format: BUNDLE_FORMAT,
    version: 1,
    chainId: input.chainId,
    tenantId: input.tenantId,
    from: input.from,
    to: input.to,
    exportedAt: input.exportedAt,
    exportedBy: input.exportedBy,
    fromSeq: first?.seq ?? 1,
    toSeq: last?.seq ?? 0,
    publicKeys: input.publicKeys
      .map((k) => ({ keyId: keyIdOf(k), spki: k.export({ type: 'spki', format: 'der' }).toString('base64') }))
      .filter((k) => usedKeyIds.has(k.keyId)),
  };
  const bundle: AuditBundle = { header, checkpoints: [...input.checkpoints], records, verification: null };
  bundle.verification = verifyBundle(bundle, { trustedKeys: input.publicKeys });
  return bundle;
}

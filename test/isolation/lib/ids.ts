// Opaque global ids as the gateway issues them (base64url of "Type:key"), and the kinds of id
// the fuzz knows how to produce. The format is the gateway's wire contract, so it is restated here
// rather than imported from a service.
import { randomUUID } from 'node:crypto';

export const ID_KINDS = [
  'Guest',
  'Tenant',
  'Alert',
  'AlertRule',
  'Connection',
  'Membership',
  'ApiToken',
  'Assignment',
  'Task',
  'AuditRecord',
  'User',
] as const;
export type IdKind = (typeof ID_KINDS)[number];

/** What an argument identifies: an object of one kind, any object (`node(id)`), or a portal username. */
export type ProbeKind = IdKind | 'Node' | 'Username';

export function globalId(kind: IdKind, key: string): string {
  return Buffer.from(`${kind}:${key}`, 'utf8').toString('base64url');
}

export function decodeGlobalId(id: string): { kind: string; key: string } | null {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return null;
  const raw = Buffer.from(id, 'base64url').toString('utf8');
  const i = raw.indexOf(':');
  return i > 0 ? { kind: raw.slice(0, i), key: raw.slice(i + 1) } : null;
}

/** A well-formed id of `kind` that names nothing (keys are uuids, tasks are UPIDs, audit records chain/seq). */
export function randomId(kind: IdKind): string {
  if (kind === 'Task') {
    const hex = (n: number) =>
      Math.floor(Math.random() * 16 ** n)
        .toString(16)
        .toUpperCase()
        .padStart(n, '0');
    return globalId(kind, `UPID:pve-x9:${hex(8)}:${hex(8)}:${hex(8)}:qmstart:999:root@pam:`);
  }
  if (kind === 'AuditRecord') return globalId(kind, `${randomUUID()}/${1 + Math.floor(Math.random() * 1e6)}`);
  return globalId(kind, randomUUID());
}

/** Ids that are not ids: malformed, wrong kind, truncated, oversized, injection-shaped. */
export function garbageIds(sample: string): string[] {
  return [
    '',
    'x',
    'not-an-id',
    sample.slice(0, Math.max(1, Math.floor(sample.length / 2))),
    `${sample}=`,
    globalId('Tenant', 'not-a-uuid'),
    Buffer.from('NoSuchType:00000000-0000-4000-8000-000000000000').toString('base64url'),
    "1' OR '1'='1",
    'A'.repeat(5000),
  ];
}

/**
 * The kind of an ID argument, from its name (`resourceId`, `clusterIds`), else the field's return
 * type (`alert(id): Alert`), else the field name (`revokeApiToken(id)`). Null: unknown, the fuzz
 * must be taught (the test fails rather than skip it).
 */
export function inferKind(leafName: string, fieldName: string, returnTypeName: string | null): ProbeKind | null {
  if (fieldName === 'node' && leafName === 'id') return 'Node';
  const base = leafName.replace(/Ids?$/, '');
  if (base && base !== leafName) {
    const k = kindIn(base);
    if (k) return k;
  }
  if (returnTypeName) {
    const k = kindIn(returnTypeName);
    if (k) return k;
  }
  return kindIn(fieldName);
}

// Longest first: "alertRule" is an AlertRule, not an Alert.
const KIND_WORDS: Array<[string, IdKind]> = (
  [
    ['auditrecord', 'AuditRecord'],
    ['auditevent', 'AuditRecord'],
    ['assignment', 'Assignment'],
    ['membership', 'Membership'],
    ['connection', 'Connection'],
    ['alertrule', 'AlertRule'],
    ['apitoken', 'ApiToken'],
    ['resource', 'Guest'],
    ['cluster', 'Connection'],
    ['assign', 'Assignment'],
    ['tenant', 'Tenant'],
    ['guest', 'Guest'],
    ['alert', 'Alert'],
    ['task', 'Task'],
    ['user', 'User'],
  ] as Array<[string, IdKind]>
).sort((a, b) => b[0].length - a[0].length);

function kindIn(name: string): IdKind | null {
  const lower = name.toLowerCase();
  if (['boolean', 'string', 'id', 'int', 'float'].includes(lower)) return null;
  for (const [word, kind] of KIND_WORDS) if (lower.includes(word)) return kind;
  return null;
}

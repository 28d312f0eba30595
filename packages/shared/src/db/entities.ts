// MikroORM entity schemas (defineEntity, no decorators). Columns mirror migrations/*.sql; the
// schema is owned by the SQL migrations, not generated from these definitions.
// Tenant-owned entities carry the `tenant` filter: a request EntityManager forked with
// `forTenant()` (./tenancy.ts) gets it enabled, so the predicate lands in SQL.
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

const tenantFilter = {
  tenant: {
    name: 'tenant',
    cond: (args: { tenantId: string }) => ({ tenantId: args.tenantId }),
    default: false,
  },
};

export const TenantSchema = defineEntity({
  name: 'Tenant',
  tableName: 'tenant',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    slug: p.text(),
    name: p.text(),
    locked: p.boolean().default(false),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
    deletedAt: p.datetime().nullable(),
  },
});
export type Tenant = InferEntity<typeof TenantSchema>;

export const PortalUserSchema = defineEntity({
  name: 'PortalUser',
  tableName: 'portal_user',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    username: p.text(),
    displayName: p.text().default(''),
    passwordHash: p.text().nullable(),
    isPortalAdmin: p.boolean().default(false),
    isComplianceAuditor: p.boolean().default(false),
    disabled: p.boolean().default(false),
    expiresAt: p.datetime().nullable(),
    failedLogins: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    lastLoginAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type PortalUser = InferEntity<typeof PortalUserSchema>;

export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'membership',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    userId: p.uuid(),
    tenantId: p.uuid(),
    role: p.enum(['tenant_admin', 'tenant_user'] as const),
    privileges: p.array().default([]),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type Membership = InferEntity<typeof MembershipSchema>;

export const PortalSessionSchema = defineEntity({
  name: 'PortalSession',
  tableName: 'portal_session',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    userId: p.uuid(),
    tokenHash: p.blob(),
    createdAt: p.datetime().defaultRaw('now()'),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    lastSeenAt: p.datetime().nullable(),
    srcIp: p.text().nullable(),
  },
});
export type PortalSession = InferEntity<typeof PortalSessionSchema>;

export const PveConnectionSchema = defineEntity({
  name: 'PveConnection',
  tableName: 'pve_connection',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    name: p.text(),
    baseUrl: p.text(),
    fingerprint: p.text().nullable(),
    tokenId: p.text(),
    secretEnc: p.blob(),
    pollIntervalMs: p.integer().default(10_000),
    enabled: p.boolean().default(true),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type PveConnection = InferEntity<typeof PveConnectionSchema>;

export const GuestSchema = defineEntity({
  name: 'Guest',
  tableName: 'guest',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    connectionId: p.uuid(),
    vmid: p.integer(),
    type: p.enum(['qemu', 'lxc'] as const),
    node: p.text(),
    name: p.text().nullable(),
    status: p.text(),
    pool: p.text().nullable(),
    tags: p.array().default([]),
    template: p.boolean().default(false),
    maxcpu: p.double().nullable(),
    maxmem: p.bigint('number').nullable(),
    maxdisk: p.bigint('number').nullable(),
    uptime: p.bigint('number').nullable(),
    raw: p.json<Record<string, unknown>>(),
    tenantId: p.uuid().nullable(),
    firstSeenAt: p.datetime().defaultRaw('now()'),
    lastSeenAt: p.datetime().defaultRaw('now()'),
    deletedAt: p.datetime().nullable(),
  },
});
export type Guest = InferEntity<typeof GuestSchema>;

export const PveTaskSchema = defineEntity({
  name: 'PveTask',
  tableName: 'pve_task',
  properties: {
    upid: p.text().primary(),
    connectionId: p.uuid(),
    node: p.text(),
    type: p.text(),
    taskId: p.text().default(''),
    vmid: p.integer().nullable(),
    pveUser: p.text(),
    tokenId: p.text().nullable(),
    starttime: p.datetime(),
    endtime: p.datetime().nullable(),
    status: p.text().nullable(),
    outcome: p.enum(['running', 'ok', 'warning', 'error', 'unknown'] as const),
    portalUserId: p.uuid().nullable(),
    portalTenantId: p.uuid().nullable(),
    requestId: p.uuid().nullable(),
    firstSeenAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type PveTask = InferEntity<typeof PveTaskSchema>;

/** pve-sync's cursor and health per (connection, source); `source = 'connection'` is the whole connection. */
export const SyncCursorSchema = defineEntity({
  name: 'SyncCursor',
  tableName: 'sync_cursor',
  primaryKeys: ['connectionId', 'source'],
  properties: {
    connectionId: p.uuid().primary(),
    source: p.text().primary(),
    cursor: p.json<Record<string, unknown>>(),
    lastAttemptAt: p.datetime().nullable(),
    lastSuccessAt: p.datetime().nullable(),
    lastError: p.text().nullable(),
    lastErrorCode: p.text().nullable(),
    consecutiveFailures: p.integer().default(0),
  },
});
export type SyncCursor = InferEntity<typeof SyncCursorSchema>;

export const PveNodeSchema = defineEntity({
  name: 'PveNode',
  tableName: 'pve_node',
  primaryKeys: ['connectionId', 'node'],
  properties: {
    connectionId: p.uuid().primary(),
    node: p.text().primary(),
    status: p.text(),
    raw: p.json<Record<string, unknown>>(),
    lastSeenAt: p.datetime().defaultRaw('now()'),
  },
});
export type PveNode = InferEntity<typeof PveNodeSchema>;

export const PveAccessSnapshotSchema = defineEntity({
  name: 'PveAccessSnapshot',
  tableName: 'pve_access_snapshot',
  primaryKeys: ['connectionId', 'kind'],
  properties: {
    connectionId: p.uuid().primary(),
    kind: p.text().primary(),
    digest: p.text(),
    data: p.json<Record<string, unknown>>(),
    takenAt: p.datetime().defaultRaw('now()'),
  },
});
export type PveAccessSnapshot = InferEntity<typeof PveAccessSnapshotSchema>;

export const AssignmentSchema = defineEntity({
  name: 'Assignment',
  tableName: 'assignment',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenantId: p.uuid(),
    connectionId: p.uuid(),
    kind: p.enum(['guest', 'pool', 'connection'] as const),
    vmid: p.integer().nullable(),
    pool: p.text().nullable(),
    validFrom: p.datetime().defaultRaw('now()'),
    validTo: p.datetime().nullable(),
    createdBy: p.uuid().nullable(),
  },
});
export type Assignment = InferEntity<typeof AssignmentSchema>;

export const AuditRecordSchema = defineEntity({
  name: 'AuditRecord',
  tableName: 'audit_record',
  filters: tenantFilter,
  primaryKeys: ['chainId', 'seq'],
  properties: {
    chainId: p.text().primary(),
    seq: p.bigint('number').primary(),
    eventId: p.uuid(),
    dedupKey: p.text(),
    tenantId: p.uuid().nullable(),
    occurredAt: p.datetime(),
    observedAt: p.datetime(),
    recordedAt: p.datetime(),
    source: p.text(),
    category: p.text(),
    action: p.text(),
    outcome: p.text(),
    actorType: p.text(),
    actorId: p.text().nullable(),
    actorPrincipal: p.text().nullable(),
    srcIp: p.text().nullable(),
    connectionId: p.uuid().nullable(),
    node: p.text().nullable(),
    targetType: p.text().nullable(),
    targetId: p.text().nullable(),
    targetName: p.text().nullable(),
    targetPath: p.text().nullable(),
    upid: p.text().nullable(),
    requestId: p.text().nullable(),
    detection: p.text(),
    payload: p.json<Record<string, unknown>>().nullable(),
    payloadDigest: p.blob(),
    redactedAt: p.datetime().nullable(),
    prevHash: p.blob(),
    recordHash: p.blob(),
  },
});
export type AuditRecord = InferEntity<typeof AuditRecordSchema>;

export const AlertRuleSchema = defineEntity({
  name: 'AlertRule',
  tableName: 'alert_rule',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenantId: p.uuid().nullable(),
    code: p.text(),
    kind: p.text(),
    name: p.text(),
    severity: p.text(),
    params: p.json<Record<string, unknown>>(),
    scope: p.json<Record<string, unknown>>(),
    enabled: p.boolean().default(true),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type AlertRule = InferEntity<typeof AlertRuleSchema>;

export const AlertSchema = defineEntity({
  name: 'Alert',
  tableName: 'alert',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    ruleId: p.uuid(),
    tenantId: p.uuid().nullable(),
    dedupKey: p.text(),
    state: p.enum(['pending', 'firing', 'acknowledged', 'resolved', 'silenced'] as const),
    severity: p.text(),
    title: p.text(),
    summary: p.text().default(''),
    labels: p.json<Record<string, unknown>>(),
    occurrences: p.integer().default(1),
    firstSeenAt: p.datetime(),
    lastSeenAt: p.datetime(),
    acknowledgedBy: p.uuid().nullable(),
    acknowledgedAt: p.datetime().nullable(),
    resolvedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type Alert = InferEntity<typeof AlertSchema>;

/** Head of an audit chain ('provider' or a tenant id). Written only by the auditor, under a row lock. */
export const AuditChainSchema = defineEntity({
  name: 'AuditChain',
  tableName: 'audit_chain',
  properties: {
    chainId: p.text().primary(),
    tenantId: p.uuid().nullable(),
    headSeq: p.bigint('number').default(0),
    headHash: p.blob(),
    checkpointSeq: p.bigint('number').default(0),
    checkpointAt: p.datetime().nullable(),
    checkpointSignature: p.blob().nullable(),
    prunedThroughSeq: p.bigint('number').default(0),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type AuditChain = InferEntity<typeof AuditChainSchema>;

/** A signed checkpoint (insert-only). */
export const AuditCheckpointSchema = defineEntity({
  name: 'AuditCheckpoint',
  tableName: 'audit_checkpoint',
  primaryKeys: ['chainId', 'seq'],
  properties: {
    chainId: p.text().primary(),
    seq: p.bigint('number').primary(),
    headHash: p.blob(),
    createdAt: p.datetime(),
    prevSignature: p.blob().nullable(),
    keyId: p.text(),
    signature: p.blob(),
  },
});
export type AuditCheckpoint = InferEntity<typeof AuditCheckpointSchema>;

/** One alert transition (insert-only); `id` is the replay cursor of alertStream. */
export const AlertEventSchema = defineEntity({
  name: 'AlertEvent',
  tableName: 'alert_event',
  filters: tenantFilter,
  properties: {
    id: p.bigint('string').primary(),
    alertId: p.uuid(),
    tenantId: p.uuid().nullable(),
    fromState: p.text().nullable(),
    toState: p.text(),
    at: p.datetime().defaultRaw('now()'),
    actorId: p.uuid().nullable(),
    note: p.text().nullable(),
    /** The writing transaction (xid8): alertStream's commit fence (migration 0002). */
    xid: p.text().columnType('xid8').defaultRaw('pg_current_xact_id()'),
  },
});
export type AlertEvent = InferEntity<typeof AlertEventSchema>;

export const AlertSilenceSchema = defineEntity({
  name: 'AlertSilence',
  tableName: 'alert_silence',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    tenantId: p.uuid().nullable(),
    ruleCode: p.text().nullable(),
    dedupKey: p.text().nullable(),
    until: p.datetime(),
    reason: p.text().default(''),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});
export type AlertSilence = InferEntity<typeof AlertSilenceSchema>;

export const allEntities = [
  TenantSchema,
  PortalUserSchema,
  MembershipSchema,
  PortalSessionSchema,
  PveConnectionSchema,
  GuestSchema,
  PveTaskSchema,
  SyncCursorSchema,
  PveNodeSchema,
  PveAccessSnapshotSchema,
  AssignmentSchema,
  AuditRecordSchema,
  AlertRuleSchema,
  AlertSchema,
  AuditChainSchema,
  AuditCheckpointSchema,
  AlertEventSchema,
  AlertSilenceSchema,
];

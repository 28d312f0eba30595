import type { GuestRow } from '../data/resources.ts';
import type { TaskRow } from '../data/tasks.ts';
import type { TenantRow, ConnectionRow } from '../data/tenants.ts';
import type { AuditRow } from '../data/audit-log.ts';
import type { AlertRow, AlertRuleRow } from '../data/alerts.ts';
import { toGlobalId } from './relay.ts';
import type { Alert, AuditEvent, Connection, Resource, Task, Tenant } from './types.ts';

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

export function toResource(r: GuestRow): Resource {
  return {
    __typename: 'Resource',
    id: toGlobalId('Guest', r.id),
    vmid: r.vmid,
    type: r.type,
    node: r.node,
    name: r.name,
    status: r.status,
    pool: r.pool,
    tags: r.tags,
    template: r.template,
    cluster: r.connection_name,
    clusterId: toGlobalId('Connection', r.connection_id),
    maxcpu: r.maxcpu,
    maxmem: num(r.maxmem),
    uptime: num(r.uptime),
    lastSeenAt: new Date(r.last_seen_at),
    rowId: r.id,
    connectionRowId: r.connection_id,
    tenantRowId: r.tenant_id,
  };
}

export function toTask(r: TaskRow): Task {
  return {
    id: toGlobalId('Task', r.upid),
    upid: r.upid,
    type: r.type,
    node: r.node,
    vmid: r.vmid,
    user: r.pve_user,
    tokenId: r.token_id,
    startedAt: new Date(r.starttime),
    endedAt: r.endtime ? new Date(r.endtime) : null,
    status: r.status,
    outcome: r.outcome,
    fromPortal: r.portal_user_id !== null,
  };
}

export function toTenant(r: TenantRow): Tenant {
  return {
    __typename: 'Tenant',
    id: toGlobalId('Tenant', r.id),
    slug: r.slug,
    name: r.name,
    locked: r.locked,
    createdAt: new Date(r.created_at),
  };
}

/**
 * Not audit-core's `chainRecordFromRow`: that maps the hashed form (RECORD_COLUMNS: ISO text
 * timestamps, digests and both hashes) for verification and bundles; a compliance page reads
 * fewer columns, as timestamptz, and keeps `seq` as text (bigint).
 */
export function toAuditEvent(r: AuditRow): AuditEvent {
  return {
    __typename: 'AuditEvent',
    id: toGlobalId('AuditRecord', `${r.chain_id}/${r.seq}`),
    chainId: r.chain_id,
    seq: r.seq,
    eventId: r.event_id,
    occurredAt: new Date(r.occurred_at),
    recordedAt: new Date(r.recorded_at),
    source: r.source,
    action: r.action,
    outcome: r.outcome,
    actorType: r.actor_type,
    actorId: r.actor_id,
    actorPrincipal: r.actor_principal,
    srcIp: r.src_ip,
    node: r.node,
    targetType: r.target_type,
    targetId: r.target_id,
    targetName: r.target_name,
    targetPath: r.target_path,
    upid: r.upid,
    requestId: r.request_id,
    detection: r.detection,
    payload: r.payload,
    recordHash: Buffer.from(r.record_hash).toString('hex'),
  };
}

export function toAlert(r: AlertRow): Alert {
  return {
    __typename: 'Alert',
    id: toGlobalId('Alert', r.id),
    ruleCode: r.rule_code,
    state: r.state,
    severity: r.severity,
    title: r.title,
    summary: r.summary,
    dedupKey: r.dedup_key,
    occurrences: r.occurrences,
    firstSeenAt: new Date(r.first_seen_at),
    lastSeenAt: new Date(r.last_seen_at),
    acknowledgedAt: r.acknowledged_at ? new Date(r.acknowledged_at) : null,
    resolvedAt: r.resolved_at ? new Date(r.resolved_at) : null,
  };
}

export function toConnection(r: ConnectionRow, provider: boolean): Connection {
  const failing = (r.consecutive_failures ?? 0) >= 3;
  const health = !r.enabled
    ? 'disabled'
    : r.last_success_at === null
      ? 'unknown'
      : failing
        ? 'failing'
        : (r.consecutive_failures ?? 0) > 0
          ? 'degraded'
          : 'ok';
  return {
    id: toGlobalId('Connection', r.id),
    name: r.name,
    baseUrl: provider ? r.base_url : null,
    fingerprint: provider ? r.fingerprint : null,
    enabled: r.enabled,
    health,
    lastSuccessAt: r.last_success_at ? new Date(r.last_success_at) : null,
    lastErrorCode: r.last_error_code,
  };
}

export function toAlertRule(r: AlertRuleRow) {
  return {
    id: toGlobalId('AlertRule', r.id),
    code: r.code,
    kind: r.kind,
    name: r.name,
    severity: r.severity,
    enabled: r.enabled,
    builtin: r.tenant_id === null,
    params: r.params,
    scope: r.scope,
  };
}

import './reflect-shim.ts';
import { Field, Float, ID, Int, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLDateTimeISO, GraphQLJSONObject } from 'graphql-scalars';

// The gateway's object types, code-first (type-graphql). Always explicit type functions: tsx emits
// no decorator metadata. schema.snapshot.graphql is the contract; schema.test.ts compares.

export const DateTimeISO = GraphQLDateTimeISO;
export const JSONObject = GraphQLJSONObject;

export enum ExportFormat {
  JSONL = 'JSONL',
  CSV = 'CSV',
}
registerEnumType(ExportFormat, { name: 'ExportFormat' });

export enum ResourceSortField {
  NAME = 'NAME',
  VMID = 'VMID',
  STATUS = 'STATUS',
  NODE = 'NODE',
}
registerEnumType(ResourceSortField, { name: 'ResourceSortField' });

export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
registerEnumType(SortDirection, { name: 'SortDirection' });

export enum GuestType {
  qemu = 'qemu',
  lxc = 'lxc',
}
registerEnumType(GuestType, { name: 'GuestType' });

export enum PowerAction {
  start = 'start',
  stop = 'stop',
  shutdown = 'shutdown',
  reboot = 'reboot',
  suspend = 'suspend',
  resume = 'resume',
}
registerEnumType(PowerAction, { name: 'PowerAction' });

@InterfaceType('Node', {
  description: 'An object with an opaque global id (Relay).',
  resolveType: (o: { __typename: string }) => o.__typename,
})
export abstract class NodeInterface {
  @Field(() => ID)
  id!: string;
}

@ObjectType('Task')
export class TaskObject {
  @Field(() => ID) id!: string;
  @Field(() => String) upid!: string;
  @Field(() => String) type!: string;
  @Field(() => String) node!: string;
  @Field(() => Int, { nullable: true }) vmid!: number | null;
  @Field(() => String) user!: string;
  @Field(() => String, { nullable: true }) tokenId!: string | null;
  @Field(() => DateTimeISO) startedAt!: Date;
  @Field(() => DateTimeISO, { nullable: true }) endedAt!: Date | null;
  @Field(() => String, { nullable: true }) status!: string | null;
  @Field(() => String) outcome!: string;
  @Field(() => Boolean, { description: 'Started from the portal (attributed to a portal user)' })
  fromPortal!: boolean;
}

@ObjectType('Tenant', { implements: NodeInterface })
export class TenantObject {
  @Field(() => ID) id!: string;
  @Field(() => String) slug!: string;
  @Field(() => String) name!: string;
  @Field(() => Boolean) locked!: boolean;
  @Field(() => DateTimeISO) createdAt!: Date;
}

/** `tasks` and `tenant` are field resolvers (ResourceFieldsResolver) over the per-request DataLoaders. */
@ObjectType('Resource', { implements: NodeInterface })
export class ResourceObject {
  @Field(() => ID) id!: string;
  @Field(() => Int) vmid!: number;
  @Field(() => String) type!: string;
  @Field(() => String) node!: string;
  @Field(() => String, { nullable: true }) name!: string | null;
  @Field(() => String) status!: string;
  @Field(() => String, { nullable: true }) pool!: string | null;
  @Field(() => [String]) tags!: string[];
  @Field(() => Boolean) template!: boolean;
  @Field(() => String, { description: 'PVE connection (cluster) name' }) cluster!: string;
  @Field(() => ID) clusterId!: string;
  @Field(() => Float, { nullable: true }) maxcpu!: number | null;
  @Field(() => Float, { nullable: true }) maxmem!: number | null;
  @Field(() => Float, { nullable: true }) uptime!: number | null;
  @Field(() => DateTimeISO) lastSeenAt!: Date;
}

@ObjectType('AuditEvent', { implements: NodeInterface })
export class AuditEventObject {
  @Field(() => ID) id!: string;
  @Field(() => String) chainId!: string;
  @Field(() => String, { description: 'Sequence number in the chain (bigint as string)' }) seq!: string;
  @Field(() => ID) eventId!: string;
  @Field(() => DateTimeISO) occurredAt!: Date;
  @Field(() => DateTimeISO) recordedAt!: Date;
  @Field(() => String) source!: string;
  @Field(() => String) action!: string;
  @Field(() => String) outcome!: string;
  @Field(() => String) actorType!: string;
  @Field(() => String, { nullable: true }) actorId!: string | null;
  @Field(() => String, { nullable: true }) actorPrincipal!: string | null;
  @Field(() => String, { nullable: true }) srcIp!: string | null;
  @Field(() => String, { nullable: true }) node!: string | null;
  @Field(() => String, { nullable: true }) targetType!: string | null;
  @Field(() => String, { nullable: true }) targetId!: string | null;
  @Field(() => String, { nullable: true }) targetName!: string | null;
  @Field(() => String, { nullable: true }) targetPath!: string | null;
  @Field(() => String, { nullable: true }) upid!: string | null;
  @Field(() => String, { nullable: true }) requestId!: string | null;
  @Field(() => String) detection!: string;
  @Field(() => JSONObject, { nullable: true, description: 'null once redacted' })
  payload!: Record<string, unknown> | null;
  @Field(() => String, { description: 'hex SHA-256 record hash' }) recordHash!: string;
}

@ObjectType('Alert', { implements: NodeInterface })
export class AlertObject {
  @Field(() => ID) id!: string;
  @Field(() => String) ruleCode!: string;
  @Field(() => String) state!: string;
  @Field(() => String) severity!: string;
  @Field(() => String) title!: string;
  @Field(() => String) summary!: string;
  @Field(() => String) dedupKey!: string;
  @Field(() => Int) occurrences!: number;
  @Field(() => DateTimeISO) firstSeenAt!: Date;
  @Field(() => DateTimeISO) lastSeenAt!: Date;
  @Field(() => DateTimeISO, { nullable: true }) acknowledgedAt!: Date | null;
  @Field(() => DateTimeISO, { nullable: true }) resolvedAt!: Date | null;
}

@ObjectType('TenantMembership')
export class TenantMembershipObject {
  @Field(() => ID) tenantId!: string;
  @Field(() => String) role!: string;
  @Field(() => [String]) privileges!: string[];
}

@ObjectType('Me')
export class MeObject {
  @Field(() => ID) id!: string;
  @Field(() => String) username!: string;
  @Field(() => Boolean) isPortalAdmin!: boolean;
  @Field(() => Boolean) isComplianceAuditor!: boolean;
  @Field(() => String, { description: 'session, or the API token id user!name' }) credential!: string;
  @Field(() => [TenantMembershipObject]) memberships!: TenantMembershipObject[];
  @Field(() => ID, { nullable: true, description: 'The validated active tenant (X-Tenant-Id)' })
  activeTenantId!: string | null;
  @Field(() => [String], { description: 'Effective privileges in the active tenant' }) privileges!: string[];
}

@ObjectType('Connection')
export class ConnectionObject {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true, description: 'Only for provider roles' }) baseUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'Pinned SHA-256 certificate fingerprint' })
  fingerprint!: string | null;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => String, { description: 'ok | degraded | failing | unknown' }) health!: string;
  @Field(() => DateTimeISO, { nullable: true }) lastSuccessAt!: Date | null;
  @Field(() => String, { nullable: true }) lastErrorCode!: string | null;
}

@ObjectType('PageInfo')
export class PageInfoObject {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType('ResourceEdge')
export class ResourceEdgeObject {
  @Field(() => String) cursor!: string;
  @Field(() => ResourceObject) node!: ResourceObject;
}

@ObjectType('ResourceConnection')
export class ResourceConnectionObject {
  @Field(() => [ResourceEdgeObject]) edges!: ResourceEdgeObject[];
  @Field(() => PageInfoObject) pageInfo!: PageInfoObject;
}

@ObjectType('TaskEdge')
export class TaskEdgeObject {
  @Field(() => String) cursor!: string;
  @Field(() => TaskObject) node!: TaskObject;
}

@ObjectType('TaskConnection')
export class TaskConnectionObject {
  @Field(() => [TaskEdgeObject]) edges!: TaskEdgeObject[];
  @Field(() => PageInfoObject) pageInfo!: PageInfoObject;
}

@ObjectType('AuditEventEdge')
export class AuditEventEdgeObject {
  @Field(() => String) cursor!: string;
  @Field(() => AuditEventObject) node!: AuditEventObject;
}

@ObjectType('AuditEventConnection')
export class AuditEventConnectionObject {
  @Field(() => [AuditEventEdgeObject]) edges!: AuditEventEdgeObject[];
  @Field(() => PageInfoObject) pageInfo!: PageInfoObject;
}

@ObjectType('AlertEdge')
export class AlertEdgeObject {
  @Field(() => String) cursor!: string;
  @Field(() => AlertObject) node!: AlertObject;
}

@ObjectType('AlertConnection')
export class AlertConnectionObject {
  @Field(() => [AlertEdgeObject]) edges!: AlertEdgeObject[];
  @Field(() => PageInfoObject) pageInfo!: PageInfoObject;
}

@ObjectType('AlertRule')
export class AlertRuleObject {
  @Field(() => ID) id!: string;
  @Field(() => String) code!: string;
  @Field(() => String) kind!: string;
  @Field(() => String) name!: string;
  @Field(() => String) severity!: string;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => Boolean, { description: 'Provider-wide built-in rule (read-only for tenants)' }) builtin!: boolean;
  @Field(() => JSONObject) params!: Record<string, unknown>;
  @Field(() => JSONObject) scope!: Record<string, unknown>;
}

@ObjectType('Member')
export class MemberObject {
  @Field(() => String) username!: string;
  @Field(() => String) displayName!: string;
  @Field(() => String) role!: string;
  @Field(() => [String]) privileges!: string[];
  @Field(() => Boolean) disabled!: boolean;
  @Field(() => DateTimeISO, { nullable: true }) lastLoginAt!: Date | null;
}

@ObjectType('PortalAccess')
export class PortalAccessObject {
  @Field(() => String) username!: string;
  @Field(() => String, { description: 'portal_admin, tenant_admin or tenant_user' }) role!: string;
  @Field(() => [String]) privileges!: string[];
}

@ObjectType('PveAccess')
export class PveAccessObject {
  @Field(() => String, { description: 'user@realm or user@realm!token' }) subject!: string;
  @Field(() => String) kind!: string;
  @Field(() => [String]) privileges!: string[];
  @Field(() => Boolean, { description: 'Whether PVE would accept this subject now (enabled, not expired)' })
  canAuthenticate!: boolean;
  @Field(() => [String], {
    description: "The access-control engine's explanation for the most significant privilege",
  })
  explanation!: string[];
}

@ObjectType('AccessReview')
export class AccessReviewObject {
  @Field(() => ResourceObject) resource!: ResourceObject;
  @Field(() => [PortalAccessObject]) portal!: PortalAccessObject[];
  @Field(() => [PveAccessObject]) pve!: PveAccessObject[];
  @Field(() => DateTimeISO, {
    nullable: true,
    description: 'When pve-sync last mirrored the PVE access configuration (null: never)',
  })
  snapshotAt!: Date | null;
}

@ObjectType('HygieneFinding')
export class HygieneFindingObject {
  @Field(() => String) connection!: string;
  @Field(() => String, {
    description:
      "The access-control engine's finding code (the same in pve-sync's access events): TOKEN_NO_EXPIRY, TOKEN_PRIVSEP_OFF, ADMIN_ON_ROOT, USER_UNUSED_90D, DISABLED_USER_GRANTED",
  })
  code!: string;
  @Field(() => String) severity!: string;
  @Field(() => String) subject!: string;
  @Field(() => String, { description: 'user, group or token' }) subjectType!: string;
  @Field(() => String, { nullable: true, description: 'The ACL path the finding is about, where there is one' })
  path!: string | null;
  @Field(() => String, { description: 'What is wrong and what to do, in one sentence' }) detail!: string;
}

@ObjectType('AuditCheckpoint')
export class AuditCheckpointObject {
  @Field(() => String) seq!: string;
  @Field(() => String) headHash!: string;
  @Field(() => DateTimeISO) createdAt!: Date;
  @Field(() => String) keyId!: string;
  @Field(() => String) signature!: string;
}

@ObjectType('AuditExport')
export class AuditExportObject {
  @Field(() => ExportFormat) format!: ExportFormat;
  @Field(() => Int) records!: number;
  @Field(() => Boolean, { description: 'More records matched than one export carries (10,000); narrow the filter' })
  truncated!: boolean;
  @Field(() => String) data!: string;
  @Field(() => [AuditCheckpointObject], {
    description: 'The first signed checkpoint at or after the newest exported record (empty until one exists)',
  })
  checkpoints!: AuditCheckpointObject[];
}

@ObjectType('PowerActionPayload')
export class PowerActionPayloadObject {
  @Field(() => String, { description: 'The PVE task id (UPID) of the started action' }) upid!: string;
  @Field(() => ID) requestId!: string;
  @Field(() => ResourceObject) resource!: ResourceObject;
}

@ObjectType('LoginPayload')
export class LoginPayloadObject {
  @Field(() => String, { description: 'Opaque session token: send as Authorization: Bearer <token>' })
  token!: string;
  @Field(() => DateTimeISO) expiresAt!: Date;
  @Field(() => ID) userId!: string;
}

@ObjectType('ApiTokenPayload')
export class ApiTokenPayloadObject {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'user!name' }) tokenId!: string;
  @Field(() => String, { description: 'The secret, shown once' }) token!: string;
}

@ObjectType('TaskUpdate')
export class TaskUpdateObject {
  @Field(() => String, { description: 'Resume with taskUpdates(after: cursor)' }) cursor!: string;
  @Field(() => ID) resourceId!: string;
  @Field(() => TaskObject) task!: TaskObject;
}

@ObjectType('AlertNotification', {
  description: 'A live or replayed alert transition; clients deduplicate by cursor.',
})
export class AlertNotificationObject {
  @Field(() => String) cursor!: string;
  @Field(() => ID) alertId!: string;
  @Field(() => String) ruleCode!: string;
  @Field(() => String) state!: string;
  @Field(() => String, { nullable: true }) fromState!: string | null;
  @Field(() => String) severity!: string;
  @Field(() => String) title!: string;
  @Field(() => DateTimeISO) at!: Date;
}

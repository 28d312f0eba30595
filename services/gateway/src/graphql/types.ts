import { Field, ID, InputType, Int, InterfaceType, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLDateTimeISO, GraphQLJSONObject } from 'graphql-scalars';

// GraphQL object types. Field types are always explicit: tsx/esbuild emit no decorator metadata.

@InterfaceType({ description: 'An object with an opaque global id (Relay).' })
export abstract class Node {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;
  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class TenantMembership {
  @Field(() => ID)
  tenantId!: string;
  @Field(() => String)
  role!: string;
  @Field(() => [String])
  privileges!: string[];
}

@ObjectType({ implements: Node })
export class Tenant extends Node {
  @Field(() => String)
  slug!: string;
  @Field(() => String)
  name!: string;
  @Field(() => Boolean)
  locked!: boolean;
  @Field(() => GraphQLDateTimeISO)
  createdAt!: Date;
}

@ObjectType()
export class Me {
  @Field(() => ID)
  id!: string;
  @Field(() => String)
  username!: string;
  @Field(() => Boolean)
  isPortalAdmin!: boolean;
  @Field(() => Boolean)
  isComplianceAuditor!: boolean;
  @Field(() => String, { description: 'session, or the API token id user!name' })
  credential!: string;
  @Field(() => [TenantMembership])
  memberships!: TenantMembership[];
  @Field(() => ID, { nullable: true, description: 'The validated active tenant (X-Tenant-Id)' })
  activeTenantId!: string | null;
  @Field(() => [String], { description: 'Effective privileges in the active tenant' })
  privileges!: string[];
}

@ObjectType()
export class Task {
  @Field(() => ID)
  id!: string;
  @Field(() => String)
  upid!: string;
  @Field(() => String)
  type!: string;
  @Field(() => String)
  node!: string;
  @Field(() => Int, { nullable: true })
  vmid!: number | null;
  @Field(() => String)
  user!: string;
  @Field(() => String, { nullable: true })
  tokenId!: string | null;
  @Field(() => GraphQLDateTimeISO)
  startedAt!: Date;
  @Field(() => GraphQLDateTimeISO, { nullable: true })
  endedAt!: Date | null;
  @Field(() => String, { nullable: true })
  status!: string | null;
  @Field(() => String)
  outcome!: string;
  @Field(() => Boolean, { description: 'Started from the portal (attributed to a portal user)' })
  fromPortal!: boolean;
  /** internal: the guest row id, for tenant lookups */
  guestId!: string;
}

@ObjectType({ implements: Node })
export class Resource extends Node {
  @Field(() => Int)
  vmid!: number;
  @Field(() => String)
  type!: string;
  @Field(() => String)
  node!: string;
  @Field(() => String, { nullable: true })
  name!: string | null;
  @Field(() => String)
  status!: string;
  @Field(() => String, { nullable: true })
  pool!: string | null;
  @Field(() => [String])
  tags!: string[];
  @Field(() => Boolean)
  template!: boolean;
  @Field(() => String, { description: 'PVE connection (cluster) name' })
  cluster!: string;
  @Field(() => ID)
  clusterId!: string;
  @Field(() => Number, { nullable: true })
  maxcpu!: number | null;
  @Field(() => Number, { nullable: true })
  maxmem!: number | null;
  @Field(() => Number, { nullable: true })
  uptime!: number | null;
  @Field(() => GraphQLDateTimeISO)
  lastSeenAt!: Date;
  /** internal */
  rowId!: string;
  tenantRowId!: string | null;
}

@ObjectType()
export class ResourceEdge {
  @Field(() => String)
  cursor!: string;
  @Field(() => Resource)
  node!: Resource;
}

@ObjectType()
export class ResourceConnection {
  @Field(() => [ResourceEdge])
  edges!: ResourceEdge[];
  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class TaskEdge {
  @Field(() => String)
  cursor!: string;
  @Field(() => Task)
  node!: Task;
}

@ObjectType()
export class TaskConnection {
  @Field(() => [TaskEdge])
  edges!: TaskEdge[];
  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ implements: Node })
export class AuditEvent extends Node {
  @Field(() => String)
  chainId!: string;
  @Field(() => String, { description: 'Sequence number in the chain (bigint as string)' })
  seq!: string;
  @Field(() => ID)
  eventId!: string;
  @Field(() => GraphQLDateTimeISO)
  occurredAt!: Date;
  @Field(() => GraphQLDateTimeISO)
  recordedAt!: Date;
  @Field(() => String)
  source!: string;
  @Field(() => String)
  action!: string;
  @Field(() => String)
  outcome!: string;
  @Field(() => String)
  actorType!: string;
  @Field(() => String, { nullable: true })
  actorId!: string | null;
  @Field(() => String, { nullable: true })
  actorPrincipal!: string | null;
  @Field(() => String, { nullable: true })
  srcIp!: string | null;
  @Field(() => String, { nullable: true })
  node!: string | null;
  @Field(() => String, { nullable: true })
  targetType!: string | null;
  @Field(() => String, { nullable: true })
  targetId!: string | null;
  @Field(() => String, { nullable: true })
  targetName!: string | null;
  @Field(() => String, { nullable: true })
  targetPath!: string | null;
  @Field(() => String, { nullable: true })
  upid!: string | null;
  @Field(() => String, { nullable: true })
  requestId!: string | null;
  @Field(() => String)
  detection!: string;
  @Field(() => GraphQLJSONObject, { nullable: true, description: 'null once redacted' })
  payload!: Record<string, unknown> | null;
  @Field(() => String, { description: 'hex SHA-256 record hash' })
  recordHash!: string;
}

@ObjectType()
export class AuditEventEdge {
  @Field(() => String)
  cursor!: string;
  @Field(() => AuditEvent)
  node!: AuditEvent;
}

@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge])
  edges!: AuditEventEdge[];
  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ implements: Node })
export class Alert extends Node {
  @Field(() => String)
  ruleCode!: string;
  @Field(() => String)
  state!: string;
  @Field(() => String)
  severity!: string;
  @Field(() => String)
  title!: string;
  @Field(() => String)
  summary!: string;
  @Field(() => String)
  dedupKey!: string;
  @Field(() => Int)
  occurrences!: number;
  @Field(() => GraphQLDateTimeISO)
  firstSeenAt!: Date;
  @Field(() => GraphQLDateTimeISO)
  lastSeenAt!: Date;
  @Field(() => GraphQLDateTimeISO, { nullable: true })
  acknowledgedAt!: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true })
  resolvedAt!: Date | null;
}

@ObjectType()
export class AlertEdge {
  @Field(() => String)
  cursor!: string;
  @Field(() => Alert)
  node!: Alert;
}

@ObjectType()
export class AlertConnection {
  @Field(() => [AlertEdge])
  edges!: AlertEdge[];
  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class AlertRule {
  @Field(() => ID)
  id!: string;
  @Field(() => String)
  code!: string;
  @Field(() => String)
  kind!: string;
  @Field(() => String)
  name!: string;
  @Field(() => String)
  severity!: string;
  @Field(() => Boolean)
  enabled!: boolean;
  @Field(() => Boolean, { description: 'Provider-wide built-in rule (read-only for tenants)' })
  builtin!: boolean;
  @Field(() => GraphQLJSONObject)
  params!: Record<string, unknown>;
  @Field(() => GraphQLJSONObject)
  scope!: Record<string, unknown>;
}

@ObjectType({ description: 'A live or replayed alert transition; clients deduplicate by cursor.' })
export class AlertNotificationType {
  @Field(() => String)
  cursor!: string;
  @Field(() => ID)
  alertId!: string;
  @Field(() => String)
  ruleCode!: string;
  @Field(() => String)
  state!: string;
  @Field(() => String, { nullable: true })
  fromState!: string | null;
  @Field(() => String)
  severity!: string;
  @Field(() => String)
  title!: string;
  @Field(() => GraphQLDateTimeISO)
  at!: Date;
}

@ObjectType()
export class Connection {
  @Field(() => ID)
  id!: string;
  @Field(() => String)
  name!: string;
  @Field(() => String, { nullable: true, description: 'Only for provider roles' })
  baseUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'Pinned SHA-256 certificate fingerprint' })
  fingerprint!: string | null;
  @Field(() => Boolean)
  enabled!: boolean;
  @Field(() => String, { description: 'ok | degraded | failing | unknown' })
  health!: string;
  @Field(() => GraphQLDateTimeISO, { nullable: true })
  lastSuccessAt!: Date | null;
  @Field(() => String, { nullable: true })
  lastErrorCode!: string | null;
}

@ObjectType()
export class LoginPayload {
  @Field(() => String, { description: 'Opaque session token: send as Authorization: Bearer <token>' })
  token!: string;
  @Field(() => GraphQLDateTimeISO)
  expiresAt!: Date;
  @Field(() => ID)
  userId!: string;
}

@ObjectType()
export class ApiTokenPayload {
  @Field(() => ID)
  id!: string;
  @Field(() => String, { description: 'user!name' })
  tokenId!: string;
  @Field(() => String, { description: 'The secret, shown once' })
  token!: string;
}

export enum ResourceSortField {
  NAME = 'NAME',
  VMID = 'VMID',
  STATUS = 'STATUS',
  NODE = 'NODE',
}
export enum SortDirection {
  ASC = 'ASC',
  DESC = 'DESC',
}
export enum GuestType {
  qemu = 'qemu',
  lxc = 'lxc',
}
registerEnumType(ResourceSortField, { name: 'ResourceSortField' });
registerEnumType(SortDirection, { name: 'SortDirection' });
registerEnumType(GuestType, { name: 'GuestType' });

@InputType()
export class ResourceFilter {
  @Field(() => [ID], { nullable: true, description: 'Cluster (connection) ids' })
  clusterIds?: string[] | null;
  @Field(() => String, { nullable: true })
  node?: string | null;
  @Field(() => GuestType, { nullable: true })
  type?: GuestType | null;
  @Field(() => String, { nullable: true })
  status?: string | null;
  @Field(() => String, { nullable: true })
  tag?: string | null;
  @Field(() => String, { nullable: true })
  pool?: string | null;
  @Field(() => String, { nullable: true, description: 'Substring of the name, case-insensitive' })
  name?: string | null;
}

@InputType()
export class ResourceOrder {
  @Field(() => ResourceSortField)
  field!: ResourceSortField;
  @Field(() => SortDirection, { defaultValue: SortDirection.ASC })
  direction!: SortDirection;
}

@InputType()
export class TaskFilter {
  @Field(() => ID, { nullable: true })
  resourceId?: string | null;
  @Field(() => String, { nullable: true })
  outcome?: string | null;
  @Field(() => String, { nullable: true })
  type?: string | null;
}

@InputType()
export class AuditLogFilter {
  @Field(() => String, { nullable: true })
  actor?: string | null;
  @Field(() => String, { nullable: true, description: "Exact action, or a prefix ending in '.'" })
  action?: string | null;
  @Field(() => String, { nullable: true })
  outcome?: string | null;
  @Field(() => String, { nullable: true, description: 'Target id, name or ACL path' })
  target?: string | null;
  @Field(() => String, { nullable: true })
  srcIp?: string | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true })
  from?: Date | null;
  @Field(() => GraphQLDateTimeISO, { nullable: true })
  to?: Date | null;
  @Field(() => String, { nullable: true })
  text?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'The provider chain (Portal Admin / Compliance Auditor)' })
  provider?: boolean | null;
}

@InputType()
export class AlertFilter {
  @Field(() => String, { nullable: true })
  state?: string | null;
  @Field(() => String, { nullable: true })
  severity?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'Provider-level alerts (Portal Admin / Compliance Auditor)' })
  provider?: boolean | null;
}

// Shapes of the GraphQL objects the resolvers return (the type-graphql classes in ./schema/ declare them;
// schema.snapshot.graphql is the contract).

export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface ConnectionOf<T> {
  edges: Array<Edge<T>>;
  pageInfo: PageInfo;
}

export interface Tenant {
  __typename: 'Tenant';
  id: string;
  slug: string;
  name: string;
  locked: boolean;
  createdAt: Date;
}

export interface Task {
  id: string;
  upid: string;
  type: string;
  node: string;
  vmid: number | null;
  user: string;
  tokenId: string | null;
  startedAt: Date;
  endedAt: Date | null;
  status: string | null;
  outcome: string;
  fromPortal: boolean;
}

export interface Resource {
  __typename: 'Resource';
  id: string;
  vmid: number;
  type: string;
  node: string;
  name: string | null;
  status: string;
  pool: string | null;
  tags: string[];
  template: boolean;
  cluster: string;
  clusterId: string;
  maxcpu: number | null;
  maxmem: number | null;
  uptime: number | null;
  lastSeenAt: Date;
  /** internal: row ids for the field resolvers */
  rowId: string;
  connectionRowId: string;
  tenantRowId: string | null;
}

export interface AuditEvent {
  __typename: 'AuditEvent';
  id: string;
  chainId: string;
  seq: string;
  eventId: string;
  occurredAt: Date;
  recordedAt: Date;
  source: string;
  action: string;
  outcome: string;
  actorType: string;
  actorId: string | null;
  actorPrincipal: string | null;
  srcIp: string | null;
  node: string | null;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  targetPath: string | null;
  upid: string | null;
  requestId: string | null;
  detection: string;
  payload: Record<string, unknown> | null;
  recordHash: string;
}

export interface Alert {
  __typename: 'Alert';
  id: string;
  ruleCode: string;
  state: string;
  severity: string;
  title: string;
  summary: string;
  dedupKey: string;
  occurrences: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
  acknowledgedAt: Date | null;
  resolvedAt: Date | null;
}

export interface Connection {
  id: string;
  name: string;
  baseUrl: string | null;
  fingerprint: string | null;
  enabled: boolean;
  health: string;
  lastSuccessAt: Date | null;
  lastErrorCode: string | null;
}

export type ResourceSortField = 'NAME' | 'VMID' | 'STATUS' | 'NODE';
export type SortDirection = 'ASC' | 'DESC';

export interface ResourceFilter {
  clusterIds?: string[] | null;
  node?: string | null;
  type?: 'qemu' | 'lxc' | null;
  status?: string | null;
  tag?: string | null;
  pool?: string | null;
  name?: string | null;
}

export interface ResourceOrder {
  field: ResourceSortField;
  direction: SortDirection;
}

export interface TaskFilter {
  resourceId?: string | null;
  outcome?: string | null;
  type?: string | null;
}

export interface AuditLogFilter {
  actor?: string | null;
  action?: string | null;
  outcome?: string | null;
  target?: string | null;
  srcIp?: string | null;
  from?: Date | null;
  to?: Date | null;
  text?: string | null;
  provider?: boolean | null;
}

export interface AlertFilter {
  state?: string | null;
  severity?: string | null;
  provider?: boolean | null;
}

// The gateway's GraphQL schema (SDL-first; see ARCHITECTURE.md "Gateway" for why not type-graphql).
export const typeDefs = /* GraphQL */ `
  """
  An object with an opaque global id (Relay).
  """
  interface Node {
    id: ID!
  }

  scalar DateTimeISO

  type Task {
    id: ID!
    upid: String!
    type: String!
    node: String!
    vmid: Int
    user: String!
    tokenId: String
    startedAt: DateTimeISO!
    endedAt: DateTimeISO
    status: String
    outcome: String!

    """
    Started from the portal (attributed to a portal user)
    """
    fromPortal: Boolean!
  }

  scalar JSONObject

  type Tenant implements Node {
    id: ID!
    slug: String!
    name: String!
    locked: Boolean!
    createdAt: DateTimeISO!
  }

  type Resource implements Node {
    id: ID!
    vmid: Int!
    type: String!
    node: String!
    name: String
    status: String!
    pool: String
    tags: [String!]!
    template: Boolean!

    """
    PVE connection (cluster) name
    """
    cluster: String!
    clusterId: ID!
    maxcpu: Float
    maxmem: Float
    uptime: Float
    lastSeenAt: DateTimeISO!

    """
    The latest tasks of this guest
    """
    tasks: [Task!]!
    tenant: Tenant
  }

  type AuditEvent implements Node {
    id: ID!
    chainId: String!

    """
    Sequence number in the chain (bigint as string)
    """
    seq: String!
    eventId: ID!
    occurredAt: DateTimeISO!
    recordedAt: DateTimeISO!
    source: String!
    action: String!
    outcome: String!
    actorType: String!
    actorId: String
    actorPrincipal: String
    srcIp: String
    node: String
    targetType: String
    targetId: String
    targetName: String
    targetPath: String
    upid: String
    requestId: String
    detection: String!

    """
    null once redacted
    """
    payload: JSONObject

    """
    hex SHA-256 record hash
    """
    recordHash: String!
  }

  type Alert implements Node {
    id: ID!
    ruleCode: String!
    state: String!
    severity: String!
    title: String!
    summary: String!
    dedupKey: String!
    occurrences: Int!
    firstSeenAt: DateTimeISO!
    lastSeenAt: DateTimeISO!
    acknowledgedAt: DateTimeISO
    resolvedAt: DateTimeISO
  }

  type Query {
    """
    The caller
    """
    me: Me!

    """
    Tenants the caller may use
    """
    tenants: [Tenant!]!
    tenant(id: ID!): Tenant!

    """
    Any object by its global id; foreign and unknown ids are NOT_FOUND
    """
    node(id: ID!): Node!

    """
    PVE connections with sync health: all for provider roles, assigned ones for tenant admins
    """
    connections: [Connection!]!

    """
    Guests of the active tenant across its clusters
    """
    resources(first: Int, after: String, filter: ResourceFilter, orderBy: ResourceOrder): ResourceConnection!
    resource(id: ID!): Resource!

    """
    PVE tasks of the active tenant's guests, newest first
    """
    tasks(first: Int, after: String, filter: TaskFilter): TaskConnection!

    """
    The active tenant's audit chain, or the provider chain
    """
    auditLog(filter: AuditLogFilter, first: Int, after: String): AuditEventConnection!
    alerts(filter: AlertFilter, first: Int, after: String): AlertConnection!
    alert(id: ID!): Alert!

    """
    Built-in rules and the active tenant’s own rules
    """
    alertRules: [AlertRule!]!

    """
    Exports the filtered audit chain with its covering checkpoint; the export is itself audited
    """
    auditExport(filter: AuditLogFilter, format: ExportFormat! = JSONL): AuditExport!

    """
    Tenant Admin: who (portal users and PVE identities) can do what on a guest, with explanations
    """
    accessReview(resourceId: ID!): AccessReview!

    """
    Tenant Admin: the members of the active tenant
    """
    members: [Member!]!

    """
    Portal Admin / Compliance Auditor: the security checklist over mirrored PVE access configuration
    """
    hygieneFindings(connectionId: ID): [HygieneFinding!]!
  }

  type Me {
    id: ID!
    username: String!
    isPortalAdmin: Boolean!
    isComplianceAuditor: Boolean!

    """
    session, or the API token id user!name
    """
    credential: String!
    memberships: [TenantMembership!]!

    """
    The validated active tenant (X-Tenant-Id)
    """
    activeTenantId: ID

    """
    Effective privileges in the active tenant
    """
    privileges: [String!]!
  }

  type TenantMembership {
    tenantId: ID!
    role: String!
    privileges: [String!]!
  }

  type Connection {
    id: ID!
    name: String!

    """
    Only for provider roles
    """
    baseUrl: String

    """
    Pinned SHA-256 certificate fingerprint
    """
    fingerprint: String
    enabled: Boolean!

    """
    ok | degraded | failing | unknown
    """
    health: String!
    lastSuccessAt: DateTimeISO
    lastErrorCode: String
  }

  type ResourceConnection {
    edges: [ResourceEdge!]!
    pageInfo: PageInfo!
  }

  type ResourceEdge {
    cursor: String!
    node: Resource!
  }

  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }

  input ResourceOrder {
    field: ResourceSortField!
    direction: SortDirection! = ASC
  }

  enum ResourceSortField {
    NAME
    VMID
    STATUS
    NODE
  }

  enum SortDirection {
    ASC
    DESC
  }

  input ResourceFilter {
    """
    Cluster (connection) ids
    """
    clusterIds: [ID!]
    node: String
    type: GuestType
    status: String
    tag: String
    pool: String

    """
    Substring of the name, case-insensitive
    """
    name: String
  }

  enum GuestType {
    qemu
    lxc
  }

  type TaskConnection {
    edges: [TaskEdge!]!
    pageInfo: PageInfo!
  }

  type TaskEdge {
    cursor: String!
    node: Task!
  }

  input TaskFilter {
    resourceId: ID
    outcome: String
    type: String
  }

  type AuditEventConnection {
    edges: [AuditEventEdge!]!
    pageInfo: PageInfo!
  }

  type AuditEventEdge {
    cursor: String!
    node: AuditEvent!
  }

  input AuditLogFilter {
    actor: String

    """
    Exact action, or a prefix ending in '.'
    """
    action: String
    outcome: String

    """
    Target id, name or ACL path
    """
    target: String
    srcIp: String
    from: DateTimeISO
    to: DateTimeISO
    text: String

    """
    The provider chain (Portal Admin / Compliance Auditor)
    """
    provider: Boolean
  }

  type AlertConnection {
    edges: [AlertEdge!]!
    pageInfo: PageInfo!
  }

  type AlertEdge {
    cursor: String!
    node: Alert!
  }

  input AlertFilter {
    state: String
    severity: String

    """
    Provider-level alerts (Portal Admin / Compliance Auditor)
    """
    provider: Boolean
  }

  type AlertRule {
    id: ID!
    code: String!
    kind: String!
    name: String!
    severity: String!
    enabled: Boolean!

    """
    Provider-wide built-in rule (read-only for tenants)
    """
    builtin: Boolean!
    params: JSONObject!
    scope: JSONObject!
  }

  type Mutation {
    """
    Local portal login; returns an opaque session token
    """
    login(username: String!, password: String!): LoginPayload!

    """
    Revokes the current session
    """
    logout: Boolean!

    """
    A portal API token with a subset of your privileges (null: all of them)
    """
    createApiToken(name: String!, privileges: [String!], expiresAt: DateTimeISO): ApiTokenPayload!
    revokeApiToken(id: ID!): Boolean!

    """
    Replaces the secret of an API token; the old one stops working
    """
    rotateApiToken(id: ID!): ApiTokenPayload!
    acknowledgeAlert(id: ID!, note: String): Alert!
    resolveAlert(id: ID!, note: String): Alert!
    silenceAlert(id: ID!, note: String): Alert!
    createTenant(slug: String!, name: String!): Tenant!
    updateTenant(id: ID!, name: String, locked: Boolean): Tenant!

    """
    A power action on a guest of the active tenant (needs VM.PowerMgmt). Calls PVE and records the
    returned UPID with the portal user and tenant.
    """
    powerAction(resourceId: ID!, action: PowerAction!): PowerActionPayload!

    """
    Portal Admin: adds a PVE connection (fingerprint pinned, secret encrypted)
    """
    addConnection(input: ConnectionInput!): Connection!
    updateConnection(id: ID!, input: ConnectionPatch!): Connection!
    removeConnection(id: ID!): Boolean!

    """
    Portal Admin: assigns a guest (vmid), a PVE pool, or (neither) a whole connection to a tenant;
    returns the assignment id. A move between tenants is audited in both chains.
    """
    assign(tenantId: ID!, connectionId: ID!, vmid: Int, pool: String): ID!
    unassign(id: ID!): Boolean!

    """
    Tenant Admin: adds or changes a member of the active tenant
    """
    setMembership(username: String!, role: String!, privileges: [String!]!): TenantMembership!
    removeMembership(username: String!): Boolean!

    """
    Tenant Admin: alert rules of the active tenant (kinds of the built-in rules)
    """
    createAlertRule(input: AlertRuleInput!): AlertRule!
    updateAlertRule(id: ID!, input: AlertRulePatch!): AlertRule!
    deleteAlertRule(id: ID!): Boolean!

    """
    Soft-deletes a tenant (its audit chain is kept)
    """
    deleteTenant(id: ID!): Boolean!
  }

  input ConnectionInput {
    name: String!
    """
    https://host:8006
    """
    baseUrl: String!
    """
    SHA-256 certificate fingerprint, pinned on every connection
    """
    fingerprint: String!
    """
    user@realm!tokenname
    """
    tokenId: String!
    """
    The token secret; stored encrypted (AES-256-GCM), never returned
    """
    secret: String!
    pollIntervalMs: Int
  }

  input ConnectionPatch {
    name: String
    baseUrl: String
    fingerprint: String
    tokenId: String
    secret: String
    pollIntervalMs: Int
    enabled: Boolean
  }

  type Member {
    username: String!
    displayName: String!
    role: String!
    privileges: [String!]!
    disabled: Boolean!
    lastLoginAt: DateTimeISO
  }

  type PortalAccess {
    username: String!
    """
    portal_admin, tenant_admin or tenant_user
    """
    role: String!
    privileges: [String!]!
  }

  type PveAccess {
    """
    user@realm or user@realm!token
    """
    subject: String!
    kind: String!
    privileges: [String!]!
    """
    Whether PVE would accept this subject now (enabled, not expired)
    """
    canAuthenticate: Boolean!
    """
    The access-control engine's explanation for the most significant privilege
    """
    explanation: [String!]!
  }

  type AccessReview {
    resource: Resource!
    portal: [PortalAccess!]!
    pve: [PveAccess!]!
    """
    When pve-sync last mirrored the PVE access configuration (null: never)
    """
    snapshotAt: DateTimeISO
  }

  type HygieneFinding {
    connection: String!
    """
    TOKEN_NO_EXPIRY, TOKEN_PRIVSEP_OFF, ADMINISTRATOR_ON_ROOT, USER_UNUSED_90D, DISABLED_USER_GRANTED
    """
    code: String!
    severity: String!
    subject: String!
    detail: String!
  }

  enum ExportFormat {
    JSONL
    CSV
  }

  type AuditCheckpoint {
    seq: String!
    headHash: String!
    createdAt: DateTimeISO!
    keyId: String!
    signature: String!
  }

  type AuditExport {
    format: ExportFormat!
    records: Int!
    """
    More records matched than one export carries (10,000); narrow the filter
    """
    truncated: Boolean!
    data: String!
    """
    The first signed checkpoint at or after the newest exported record (empty until one exists)
    """
    checkpoints: [AuditCheckpoint!]!
  }

  input AlertRuleInput {
    code: String!
    kind: String!
    name: String!
    severity: String!
    params: JSONObject
    scope: JSONObject
    enabled: Boolean
  }

  input AlertRulePatch {
    name: String
    severity: String
    params: JSONObject
    scope: JSONObject
    enabled: Boolean
  }

  enum PowerAction {
    start
    stop
    shutdown
    reboot
    suspend
    resume
  }

  type PowerActionPayload {
    """
    The PVE task id (UPID) of the started action
    """
    upid: String!
    requestId: ID!
    resource: Resource!
  }

  type LoginPayload {
    """
    Opaque session token: send as Authorization: Bearer <token>
    """
    token: String!
    expiresAt: DateTimeISO!
    userId: ID!
  }

  type ApiTokenPayload {
    id: ID!

    """
    user!name
    """
    tokenId: String!

    """
    The secret, shown once
    """
    token: String!
  }

  type TaskUpdate {
    """
    Resume with taskUpdates(after: cursor)
    """
    cursor: String!
    resourceId: ID!
    task: Task!
  }

  type Subscription {
    """
    Changes of PVE tasks on the active tenant's guests (from now, or after a cursor)
    """
    taskUpdates(after: String): TaskUpdate!
    """
    Alert transitions of the active tenant: replay after \`after\` (an alert_event cursor), then live
    """
    alertStream(after: String, filter: AlertFilter): AlertNotification!
  }

  """
  A live or replayed alert transition; clients deduplicate by cursor.
  """
  type AlertNotification {
    cursor: String!
    alertId: ID!
    ruleCode: String!
    state: String!
    fromState: String
    severity: String!
    title: String!
    at: DateTimeISO!
  }
`;

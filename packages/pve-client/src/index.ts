// @tenantgate/pve-client — the reviewed public surface: the client, UPID/status/fingerprint helpers,
// the typed errors, and the per-endpoint schemas and result types.
export {
  PveClient,
  type PveClientOptions,
  type PveAuth,
  type PveResourceType,
  type PveGuestType,
  type PvePowerAction,
  type NodeTasksParams,
  type JournalParams,
  type SyslogParams,
} from './client.ts';
export { parseUpid, formatUpid, isUpid, splitAuthId, type Upid } from './upid.ts';
export { normaliseTaskStatus, taskStatusIsError, type NormalisedTaskStatus } from './task-status.ts';
export { fingerprintOf, normaliseFingerprint } from './fingerprint.ts';

export { PveError, isPveError, type PveErrorContext } from './errors/pve-error.ts';
export { PveUnreachableError, type UnreachableReason } from './errors/pve-unreachable-error.ts';
export { PveTlsFingerprintMismatchError } from './errors/pve-tls-fingerprint-mismatch-error.ts';
export { PveHttpError } from './errors/pve-http-error.ts';
export { PveAuthError } from './errors/pve-auth-error.ts';
export { PvePermissionError } from './errors/pve-permission-error.ts';
export { PveResponseInvalidError, type ResponseProblem } from './errors/pve-response-invalid-error.ts';
export { UpidFormatError } from './errors/upid-format-error.ts';

export {
  versionSchema,
  clusterStatusSchema,
  clusterResourcesSchema,
  clusterResourceSchema,
  guestResourceSchema,
  clusterTasksSchema,
  clusterLogSchema,
  nodeListSchema,
  nodeTasksSchema,
  taskStatusSchema,
  logLinesSchema,
  journalSchema,
  usersSchema,
  userDetailSchema,
  userTokensSchema,
  groupsSchema,
  rolesSchema,
  aclSchema,
  permissionsSchema,
  poolListSchema,
  poolDetailListSchema,
  qemuListItemSchema,
  lxcListItemSchema,
  guestStatusSchema,
  upidResultSchema,
  type PveVersion,
  type PveClusterStatusItem,
  type PveClusterResource,
  type PveGuestResource,
  type PveNodeResource,
  type PveStorageResource,
  type PveClusterTask,
  type PveClusterLogEntry,
  type PveNode,
  type PveNodeTask,
  type PveTaskStatus,
  type PveLogLine,
  type PveUser,
  type PveUserDetail,
  type PveToken,
  type PveGroup,
  type PveRole,
  type PveAclEntry,
  type PvePermissions,
  type PvePoolListItem,
  type PvePool,
  type PvePoolMember,
  type PveQemuListItem,
  type PveLxcListItem,
  type PveGuestStatus,
} from './schemas/index.ts';

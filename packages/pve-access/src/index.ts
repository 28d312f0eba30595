// @tenantgate/pve-access — the reviewed public surface of the PVE access-control engine.
export { parseUserCfg, writeUserCfg, type ParseOptions, type ParseResult } from './usercfg.ts';
export { userConfigFromApi, userConfigToApi, type AccessApiData, type AccessApiView } from './api.ts';
export {
  AccessModel,
  ROOT_USER,
  NO_ACCESS,
  ADMINISTRATOR,
  type FlagMap,
  type CompileOptions,
  type SubjectKind,
  type SubjectInfo,
  type AccountStatus,
} from './model.ts';
export type { Explanation, ExplanationStep, WalkTrace, TraceEntry } from './explain.ts';
export { getAccessPermissions, type AccessPermissionsResult } from './api-permissions.ts';
export { hygieneFindings, FindingCode, type Finding, type FindingSeverity, type HygieneOptions } from './hygiene.ts';
export { findingsForItem, hygieneIndex, type AccessItemRef } from './hygiene-items.ts';
export { builtinRoleSet, knownPveVersions, DEFAULT_PVE_VERSION, type BuiltinRoleSet } from './builtin-roles.ts';
export {
  normalizePath,
  isValidUserId,
  parseTokenId,
  isValidGroupId,
  isValidRoleId,
  isValidPoolId,
  encodeText,
  decodeText,
} from './ids.ts';
export { AccessError, AccessErrorCode, isAccessError } from './errors.ts';
export {
  emptyUserConfig,
  type UserConfig,
  type PveUser,
  type PveToken,
  type PveGroup,
  type PvePool,
  type PveRole,
  type AclEntry,
  type AclSubjectType,
} from './types.ts';

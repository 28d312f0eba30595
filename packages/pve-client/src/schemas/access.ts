import { z } from 'zod';
import { commaList, pveBool, pveInt } from './common.ts';

/** Token of a user: `privsep` → boolean; `expire` 0 = never. */
export const tokenSchema = z.looseObject({
  tokenid: z.string(),
  privsep: pveBool.optional(),
  expire: pveInt.optional(),
  comment: z.string().optional(),
});
export type PveToken = z.output<typeof tokenSchema>;

/**
 * GET /access/users[?full=1]. `enable`, `totp-locked` → boolean. With full=1: `groups` (comma-joined string)
 * → string[], `tokens` (array, or null when none) → array.
 */
export const userSchema = z.looseObject({
  userid: z.string(),
  enable: pveBool.optional(),
  expire: pveInt.optional(),
  firstname: z.string().optional(),
  lastname: z.string().optional(),
  email: z.string().optional(),
  comment: z.string().optional(),
  keys: z.string().optional(),
  'realm-type': z.string().optional(),
  'totp-locked': pveBool.optional(),
  'tfa-locked-until': pveInt.optional(),
  groups: z.union([commaList, z.array(z.string())]).optional(),
  tokens: z
    .array(tokenSchema)
    .nullable()
    .optional()
    .transform((t) => (t === null ? [] : t)),
});
export const usersSchema = z.array(userSchema);
export type PveUser = z.output<typeof userSchema>;

/** GET /access/users/{userid}: `groups` is an array, `tokens` a map tokenid → token. */
export const userDetailSchema = z.looseObject({
  enable: pveBool.optional(),
  expire: pveInt.optional(),
  firstname: z.string().optional(),
  lastname: z.string().optional(),
  email: z.string().optional(),
  comment: z.string().optional(),
  keys: z.string().optional(),
  groups: z.array(z.string()).optional(),
  tokens: z.record(z.string(), tokenSchema.omit({ tokenid: true })).optional(),
});
export type PveUserDetail = z.output<typeof userDetailSchema>;

/** GET /access/users/{userid}/token */
export const userTokensSchema = z.array(tokenSchema);

/** GET /access/groups: `users` (comma-joined) → string[]. */
export const groupSchema = z.looseObject({
  groupid: z.string(),
  comment: z.string().optional(),
  users: commaList.optional(),
});
export const groupsSchema = z.array(groupSchema);
export type PveGroup = z.output<typeof groupSchema>;

/** GET /access/roles: `privs` (comma-joined, "" for NoAccess) → string[]; `special` → boolean. */
export const roleSchema = z.looseObject({
  roleid: z.string(),
  privs: commaList.optional().transform((p) => p ?? []),
  special: pveBool.optional(),
});
export const rolesSchema = z.array(roleSchema);
export type PveRole = z.output<typeof roleSchema>;

/** GET /access/acl: `propagate` → boolean (PVE's default is 1 when omitted). */
export const aclEntrySchema = z.looseObject({
  path: z.string(),
  type: z.enum(['user', 'group', 'token']),
  ugid: z.string(),
  roleid: z.string(),
  propagate: pveBool.optional().transform((p) => p ?? true),
});
export const aclSchema = z.array(aclEntrySchema);
export type PveAclEntry = z.output<typeof aclEntrySchema>;

/** GET /access/permissions: path → privilege → propagate flag (0/1 → boolean). */
export const permissionsSchema = z.record(z.string(), z.record(z.string(), pveBool));
export type PvePermissions = z.output<typeof permissionsSchema>;

// `GET /access/permissions` as PVE answers it (acl-semantics.md E1), on top of a compiled model.
import { parseTokenId } from './ids.ts';
import type { AccessModel, FlagMap } from './model.ts';

export type AccessPermissionsResult =
  { ok: true; data: Record<string, FlagMap> } | { ok: false; status: 403; message: string };

/**
 * Who may ask about whom: anyone about themselves, a user about its own tokens; anything else
 * needs Sys.Audit on /access (a non-privsep token has its owner's, a privsep token only its own).
 */
export function getAccessPermissions(
  model: AccessModel,
  caller: string,
  params: { userid?: string; path?: string } = {},
): AccessPermissionsResult {
  const target = params.userid ?? caller;
  const ownToken = parseTokenId(target)?.userid === caller;
  if (target !== caller && !ownToken && !model.hasPrivilege(caller, '/access', 'Sys.Audit')) {
    return { ok: false, status: 403, message: 'Permission check failed (/access, Sys.Audit)' };
  }
  if (params.path !== undefined && params.path !== '') {
    return { ok: true, data: { [params.path]: model.permissions(target, params.path) } };
  }
  return { ok: true, data: model.effectivePermissions(target) };
}

import { ErrorCode } from '@tenantgate/shared';
import { PveError, type PveErrorContext } from './pve-error.ts';

const PERMISSION_CHECK = /^Permission check failed \((\/[^,]*), ([^)]+)\)/;

/** 403 with PVE's `Permission check failed (<path>, <privs>)` text; path and privileges are parsed out when present. */
export class PvePermissionError extends PveError {
  readonly retryable = false;
  readonly status = 403;
  readonly pveMessage: string;
  /** ACL path of the failed check, e.g. `/vms/100`. */
  readonly aclPath: string | undefined;
  /** Privileges of the failed check; any-of checks are joined by `|` in PVE's text. */
  readonly privileges: string[];

  constructor(context: PveErrorContext, pveMessage: string) {
    const match = PERMISSION_CHECK.exec(pveMessage);
    const aclPath = match?.[1];
    const privileges = match?.[2] ? match[2].split('|').map((p) => p.trim()) : [];
    super(ErrorCode.PVE_PERMISSION_DENIED, `permission denied: ${pveMessage}`, context, {
      status: 403,
      pveMessage,
      aclPath,
      privileges,
    });
    this.name = 'PvePermissionError';
    this.pveMessage = pveMessage;
    this.aclPath = aclPath;
    this.privileges = privileges;
  }
}

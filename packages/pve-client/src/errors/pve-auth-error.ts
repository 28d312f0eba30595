import { ErrorCode } from '@tenantgate/shared';
import { PveError, type PveErrorContext } from './pve-error.ts';

/** 401: the token or ticket was refused (PVE gives no reason beyond the reason phrase, e.g. `Authentication failed!`). */
export class PveAuthError extends PveError {
  readonly retryable = false;
  readonly status = 401;
  readonly pveMessage: string;

  constructor(context: PveErrorContext, pveMessage: string) {
    super(ErrorCode.PVE_AUTH_FAILED, `authentication failed: ${pveMessage}`, context, { status: 401, pveMessage });
    this.name = 'PveAuthError';
    this.pveMessage = pveMessage;
  }
}

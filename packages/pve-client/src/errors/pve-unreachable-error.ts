import { ErrorCode } from '@tenantgate/shared';
import { PveError, type PveErrorContext } from './pve-error.ts';

export type UnreachableReason = 'connect' | 'timeout' | 'reset' | 'tls' | 'closed';

/**
 * The node could not be reached or the exchange broke off: connect failure, timeout, reset, TLS failure.
 * Retryable except for TLS validation failures and a closed client.
 */
export class PveUnreachableError extends PveError {
  readonly retryable: boolean;
  readonly reason: UnreachableReason;

  constructor(context: PveErrorContext, reason: UnreachableReason, detail: string, cause?: unknown) {
    super(ErrorCode.PVE_UNREACHABLE, `PVE unreachable (${reason}): ${detail}`, context, { reason }, cause);
    this.name = 'PveUnreachableError';
    this.reason = reason;
    this.retryable = reason !== 'tls' && reason !== 'closed';
  }
}

import { ErrorCode } from '@tenantgate/shared';
import { PveError, type PveErrorContext } from './pve-error.ts';

/**
 * The node presented a certificate whose SHA-256 fingerprint is not the pinned one. Raised before any
 * request byte (and so before any credential) is sent. Not retryable: a changed certificate needs an operator.
 */
export class PveTlsFingerprintMismatchError extends PveError {
  readonly retryable = false;
  readonly expected: string;
  readonly actual: string;

  constructor(context: PveErrorContext, expected: string, actual: string) {
    super(
      ErrorCode.PVE_TLS_FINGERPRINT_MISMATCH,
      `TLS certificate fingerprint mismatch: expected ${expected}, got ${actual}`,
      context,
      { expected, actual },
    );
    this.name = 'PveTlsFingerprintMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

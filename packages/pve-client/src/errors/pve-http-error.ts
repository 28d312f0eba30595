import { ErrorCode } from '@tenantgate/shared';
import { PveError, type PveErrorContext } from './pve-error.ts';

/** PVE answered with an error status (other than 401/403): 400 parameter errors, 500 handler failures, 501, 5xx. */
export class PveHttpError extends PveError {
  readonly retryable: boolean;
  readonly status: number;
  /** PVE's message (body `message`, else the reason phrase), trailing newline removed. */
  readonly pveMessage: string;
  /** Per-parameter errors of a 400 `Parameter verification failed.` */
  readonly paramErrors: Record<string, string>;

  constructor(context: PveErrorContext, status: number, pveMessage: string, paramErrors: Record<string, string> = {}) {
    const params = Object.entries(paramErrors)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    super(ErrorCode.PVE_HTTP_ERROR, `HTTP ${status}: ${pveMessage}${params ? ` (${params})` : ''}`, context, {
      status,
      pveMessage,
      paramErrors,
    });
    this.name = 'PveHttpError';
    this.status = status;
    this.pveMessage = pveMessage;
    this.paramErrors = paramErrors;
    // 596: pveproxy could not reach the node it proxies to.
    this.retryable = status === 502 || status === 503 || status === 504 || status === 596;
  }
}

import { AppError, type ErrorCode } from '@tenantgate/shared';

/** Where a PVE error happened: every PVE error names the connection and, when known, the endpoint. */
export interface PveErrorContext {
  connection: string;
  /** `METHOD /path` relative to /api2/json, without the query string (which may carry filters, never secrets). */
  endpoint?: string;
}

/** Common base of the client's typed errors, so a poller can catch them as one family. */
export abstract class PveError extends AppError {
  readonly connection: string;
  readonly endpoint: string | undefined;
  /** True when trying again later may succeed (network trouble, 502/503/504). */
  abstract readonly retryable: boolean;

  protected constructor(
    code: ErrorCode,
    message: string,
    context: PveErrorContext,
    details: Record<string, unknown>,
    cause?: unknown,
  ) {
    const where = context.endpoint ? `${context.connection}: ${context.endpoint}` : context.connection;
    super(
      code,
      `[${where}] ${message}`,
      { connection: context.connection, endpoint: context.endpoint, ...details },
      cause === undefined ? undefined : { cause },
    );
    this.connection = context.connection;
    this.endpoint = context.endpoint;
  }
}

export function isPveError(err: unknown): err is PveError {
  return err instanceof PveError;
}

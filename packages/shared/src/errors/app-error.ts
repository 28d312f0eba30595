/**
 * Stable error codes. A code, once published, is never reused for another meaning; clients match
 * on `code` (GraphQL `extensions.code`, CLI exit messages), never on message text.
 * docs/errors.md lists them; errors.test.ts checks the two agree.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  RATE_LIMITED: 'RATE_LIMITED',
  CONFIG_INVALID: 'CONFIG_INVALID',
  PVE_UNREACHABLE: 'PVE_UNREACHABLE',
  PVE_TLS_FINGERPRINT_MISMATCH: 'PVE_TLS_FINGERPRINT_MISMATCH',
  PVE_HTTP_ERROR: 'PVE_HTTP_ERROR',
  PVE_RESPONSE_INVALID: 'PVE_RESPONSE_INVALID',
  PVE_AUTH_FAILED: 'PVE_AUTH_FAILED',
  PVE_PERMISSION_DENIED: 'PVE_PERMISSION_DENIED',
  CONTRACT_VIOLATION: 'CONTRACT_VIOLATION',
  AUDIT_CHAIN_BROKEN: 'AUDIT_CHAIN_BROKEN',
  INTERNAL: 'INTERNAL',
  SYNC_CURSOR_CONFLICT: 'SYNC_CURSOR_CONFLICT',
  SYNC_SOURCE_INCONSISTENT: 'SYNC_SOURCE_INCONSISTENT',
  SYNC_CONNECTION_INVALID: 'SYNC_CONNECTION_INVALID',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every expected error. Unexpected errors are plain `Error`s and are masked at the edges. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  static badInput(message: string, details?: Record<string, unknown>): AppError {
    return new AppError(ErrorCode.BAD_USER_INPUT, message, details);
  }

  static unauthenticated(message = 'Authentication required'): AppError {
    return new AppError(ErrorCode.UNAUTHENTICATED, message);
  }

  static forbidden(message = 'Not allowed'): AppError {
    return new AppError(ErrorCode.FORBIDDEN, message);
  }

  /** The same answer for a foreign and a nonexistent object: callers must not learn which. */
  static notFound(kind = 'Object'): AppError {
    return new AppError(ErrorCode.NOT_FOUND, `${kind} not found`);
  }

  static conflict(message: string, details?: Record<string, unknown>): AppError {
    return new AppError(ErrorCode.CONFLICT, message, details);
  }

  static rateLimited(message: string, retryAfterSeconds: number): AppError {
    return new AppError(ErrorCode.RATE_LIMITED, message, { retryAfterSeconds });
  }

  static contractViolation(contract: string, issues: string): AppError {
    return new AppError(ErrorCode.CONTRACT_VIOLATION, `${contract} violates its contract: ${issues}`, { contract });
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

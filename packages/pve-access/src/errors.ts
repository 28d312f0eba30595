/**
 * Stable codes of the engine's expected failures. Consumers that speak the project-wide `AppError`
 * catalogue map every one of these to `BAD_USER_INPUT` (they are all caused by caller input).
 */
export const AccessErrorCode = {
  /** A path that PVE's normalisation rejects (characters outside `A-Z a-z 0-9 . - _ /`). */
  INVALID_PATH: 'INVALID_PATH',
  /** A privilege name the selected PVE version does not know (PVE raises this as a programming error). */
  UNKNOWN_PRIVILEGE: 'UNKNOWN_PRIVILEGE',
  /** A PVE version with no built-in role table. */
  UNKNOWN_PVE_VERSION: 'UNKNOWN_PVE_VERSION',
  /** API-shaped input that does not match PVE's response schema. */
  INVALID_API_INPUT: 'INVALID_API_INPUT',
} as const;
export type AccessErrorCode = (typeof AccessErrorCode)[keyof typeof AccessErrorCode];

/**
 * Error thrown by the access-control engine for bad caller input. The engine has no dependency on
 * `@tenantgate/shared` (it is pure and loaded by the simulator and the CLI cheaply), so it carries
 * its own small code list; see README.md "Errors".
 */
export class AccessError extends Error {
  readonly code: AccessErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: AccessErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AccessError';
    this.code = code;
    this.details = details;
  }

  static invalidPath(path: string): AccessError {
    return new AccessError(AccessErrorCode.INVALID_PATH, `invalid ACL path '${path}'`, { path });
  }

  static unknownPrivilege(privilege: string, version: string): AccessError {
    return new AccessError(
      AccessErrorCode.UNKNOWN_PRIVILEGE,
      `unknown privilege '${privilege}' (PVE access-control ${version})`,
      { privilege, version },
    );
  }

  static unknownVersion(version: string, known: readonly string[]): AccessError {
    return new AccessError(
      AccessErrorCode.UNKNOWN_PVE_VERSION,
      `no built-in role table for PVE version '${version}' (known: ${known.join(', ')})`,
      { version },
    );
  }

  static invalidApiInput(what: string, issues: string): AccessError {
    return new AccessError(
      AccessErrorCode.INVALID_API_INPUT,
      `${what} does not match PVE's response shape: ${issues}`,
      {
        what,
      },
    );
  }
}

export function isAccessError(err: unknown): err is AccessError {
  return err instanceof AccessError;
}

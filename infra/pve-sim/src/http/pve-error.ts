/** An error raised inside a handler; the server renders it as PVE's JSON error envelope. */
export class PveError extends Error {
  readonly status: number;
  readonly errors: Record<string, string> | undefined;

  constructor(status: number, message: string, errors?: Record<string, string>) {
    super(message.endsWith('\n') ? message : `${message}\n`);
    this.name = 'PveError';
    this.status = status;
    this.errors = errors;
  }

  static param(errors: Record<string, string>): PveError {
    return new PveError(400, 'Parameter verification failed.', errors);
  }

  static permission(path: string, privs: readonly string[], any = false): PveError {
    return new PveError(403, `Permission check failed (${path}, ${privs.join(any ? '|' : ',')})`);
  }

  static permissionDenied(): PveError {
    return new PveError(403, 'Permission check failed');
  }

  static internal(message: string): PveError {
    return new PveError(500, message);
  }
}

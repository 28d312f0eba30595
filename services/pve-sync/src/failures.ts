import { ErrorCode, isAppError } from '@tenantgate/shared';
import type { SourceFailure } from './source-context.ts';

/** A source failure for health and logs: the typed code when there is one, INTERNAL otherwise. */
export function failureOf(source: string, err: unknown): SourceFailure {
  if (isAppError(err)) return { source, code: err.code, message: err.message };
  return { source, code: ErrorCode.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}

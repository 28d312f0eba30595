import { ErrorCode } from '@tenantgate/shared';
import { PveError, type PveErrorContext } from './pve-error.ts';

export type ResponseProblem = 'not-json' | 'truncated' | 'html' | 'schema' | 'too-large' | 'bad-encoding';

/**
 * The response could not be used: not JSON, cut off, an HTML page, too large, or JSON that does not match the
 * endpoint's schema. Names the field path (`data[3].vmid`) and what was wrong. Nothing of such a response is
 * returned, so a caller never writes a partial result.
 */
export class PveResponseInvalidError extends PveError {
  readonly retryable = false;
  readonly problem: ResponseProblem;
  /** Field path of the first violation, `''` when the body as a whole was unusable. */
  readonly field: string;
  /** Every violation as `path: message` (schema problems may have several). */
  readonly issues: string[];

  constructor(context: PveErrorContext, problem: ResponseProblem, field: string, issues: string[]) {
    const first = issues[0] ?? problem;
    const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
    super(
      ErrorCode.PVE_RESPONSE_INVALID,
      `invalid response (${problem})${field ? ` at ${field}` : ''}: ${first}${more}`,
      context,
      {
        problem,
        field,
        issues,
      },
    );
    this.name = 'PveResponseInvalidError';
    this.problem = problem;
    this.field = field;
    this.issues = issues;
  }
}

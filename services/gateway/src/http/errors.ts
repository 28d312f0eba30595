import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { isAppError, type AppError } from '@tenantgate/shared';

const HTTP_STATUS: Partial<Record<string, number>> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, RATE_LIMITED: 429 };

/** An AppError as a GraphQLError with its stable code (used where Apollo expects GraphQLErrors). */
export function toGraphQLError(err: AppError, http = false): GraphQLError {
  return new GraphQLError(err.message, {
    originalError: err,
    extensions: {
      code: err.code,
      ...(err.code === 'RATE_LIMITED' && err.details ? { retryAfterSeconds: err.details.retryAfterSeconds } : {}),
      ...(http ? { http: { status: HTTP_STATUS[err.code] ?? 400 } } : {}),
    },
  });
}

/**
 * Apollo formatError: AppErrors keep their message and stable code; GraphQL's own errors (syntax,
 * validation, armor limits) keep theirs; anything else is masked as INTERNAL (logged elsewhere
 * with the request id).
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (isAppError(original)) {
    return {
      message: original.message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: {
        code: original.code,
        ...(original.code === 'RATE_LIMITED' ? { retryAfterSeconds: original.details?.retryAfterSeconds } : {}),
      },
    };
  }
  if (isExpected(error)) return formatted;
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL' },
  };
}

/** Errors produced by GraphQL/Apollo/armor themselves (no unexpected original error underneath). */
export function isExpected(error: unknown): boolean {
  if (!(error instanceof GraphQLError)) return false;
  const original = error.originalError;
  if (original && !(original instanceof GraphQLError) && !isAppError(original)) return false;
  return typeof error.extensions?.code === 'string';
}

import type { ErrorRequestHandler, RequestHandler } from 'express';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { isAppError, type AppError, type Logger } from '@tenantgate/shared';
import { requestIdOf } from './request-id.ts';
import {
  RETRY_AFTER_SECONDS,
  SERVICE_UNAVAILABLE_MESSAGE,
  unavailableDependency,
  type Dependency,
} from './unavailable.ts';

const HTTP_STATUS: Partial<Record<string, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
};
/** Codes whose errors tell the client when to try again (`extensions.retryAfterSeconds`). */
const RETRYABLE = new Set<string>(['RATE_LIMITED', 'SERVICE_UNAVAILABLE']);

/** `extensions.retryAfterSeconds` of a retryable AppError. */
function retryAfterOf(err: AppError): { retryAfterSeconds?: unknown } {
  return RETRYABLE.has(err.code) && err.details ? { retryAfterSeconds: err.details.retryAfterSeconds } : {};
}

/** An AppError as a GraphQLError with its stable code (used where Apollo expects GraphQLErrors). */
export function toGraphQLError(err: AppError, http = false): GraphQLError {
  const status = HTTP_STATUS[err.code] ?? 400;
  const retryAfter = retryAfterOf(err).retryAfterSeconds;
  return new GraphQLError(err.message, {
    originalError: err,
    extensions: {
      code: err.code,
      ...retryAfterOf(err),
      ...(http
        ? {
            http: {
              status,
              ...(status === 503
                ? { headers: new Map([['retry-after', String(retryAfter ?? RETRY_AFTER_SECONDS)]]) }
                : {}),
            },
          }
        : {}),
    },
  });
}

/**
 * The HTTP status and headers of a GraphQL response whose errors include SERVICE_UNAVAILABLE:
 * 503 with Retry-After (Apollo's `willSendResponse` applies it), or null.
 */
export function unavailableHttpHead(
  errors: readonly GraphQLFormattedError[] | undefined,
): { status: number; retryAfter: string } | null {
  const unavailable = errors?.find((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE');
  if (!unavailable) return null;
  const seconds = unavailable.extensions?.retryAfterSeconds;
  return { status: 503, retryAfter: String(typeof seconds === 'number' ? seconds : RETRY_AFTER_SECONDS) };
}

/**
 * Apollo formatError: AppErrors keep their message and stable code; GraphQL's own errors (syntax,
 * validation, armor limits) keep theirs; Postgres or Redis briefly unavailable (a restart, a
 * refused connection) is SERVICE_UNAVAILABLE, retryable; anything else is masked as INTERNAL
 * (logged elsewhere with the request id).
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
        ...retryAfterOf(original),
      },
    };
  }
  if (unavailableCause(error)) {
    return {
      message: SERVICE_UNAVAILABLE_MESSAGE,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: RETRY_AFTER_SECONDS },
    };
  }
  if (isExpected(error)) return formatted;
  return {
    message: 'Internal server error',
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL' },
  };
}

/**
 * Whether `error` (a resolver's, or a GraphQLError wrapping an error thrown outside resolvers) is
 * Postgres or Redis being briefly unavailable.
 */
export function unavailableCause(error: unknown): Dependency | null {
  const original = unwrapResolverError(error);
  const cause = original instanceof GraphQLError ? original.originalError : original;
  if (cause === undefined) return null;
  if (isAppError(cause))
    return cause.code === 'SERVICE_UNAVAILABLE'
      ? ((cause.details?.dependency as Dependency | undefined) ?? null)
      : null;
  return unavailableDependency(cause);
}

/** Errors produced by GraphQL/Apollo/armor themselves (no unexpected original error underneath). */
export function isExpected(error: unknown): boolean {
  if (!(error instanceof GraphQLError)) return false;
  const original = error.originalError;
  if (original && !(original instanceof GraphQLError) && !isAppError(original)) return false;
  return typeof error.extensions?.code === 'string';
}

/**
 * A GraphQL error of GraphQL itself (parse, validation) with Apollo's code for it, so graphql-ws
 * answers like Apollo does over HTTP; `suggestionMask` hides field suggestions as armor does.
 */
export function withCode(error: GraphQLError, code: string, suggestionMask?: string): GraphQLError {
  const message = suggestionMask ? error.message.replace(/Did you mean ".+"/g, suggestionMask) : error.message;
  return new GraphQLError(message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.source ? { source: error.source } : {}),
    ...(error.positions ? { positions: error.positions } : {}),
    extensions: { ...error.extensions, code },
  });
}

/** What a request failure that never reached GraphQL answers: status, stable code, message. */
interface HttpFailure {
  status: number;
  code: string;
  message: string;
}

/** body-parser's failures (`err.type`) as client errors; null for anything unexpected. */
export function httpFailureOf(err: unknown): HttpFailure | null {
  if (err === null || typeof err !== 'object') return null;
  const e = err as { type?: unknown; status?: unknown; expose?: unknown; limit?: unknown; charset?: unknown };
  switch (e.type) {
    case 'entity.parse.failed':
      return { status: 400, code: 'BAD_REQUEST', message: 'The request body is not valid JSON' };
    case 'entity.too.large':
      return {
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message:
          typeof e.limit === 'number' ? `The request body exceeds ${e.limit} bytes` : 'The request body is too large',
      };
    case 'charset.unsupported':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message:
          typeof e.charset === 'string' && /^[\w.:-]{1,40}$/.test(e.charset)
            ? `Unsupported charset "${e.charset.toUpperCase()}": send UTF-8`
            : 'Unsupported charset: send UTF-8',
      };
    case 'content-type.unsupported':
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'Unsupported content type: send application/json',
      };
    case 'encoding.unsupported':
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported content encoding' };
    case 'request.aborted':
    case 'request.size.invalid':
    case 'parameters.too.many':
      return { status: 400, code: 'BAD_REQUEST', message: 'The request body could not be read' };
    default:
      break;
  }
  // Other client errors http-errors marks as safe to show (e.g. a 400 from a parser).
  if (e.expose === true && typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return { status: e.status, code: 'BAD_REQUEST', message: 'Bad request' };
  return null;
}

/**
 * Content types a POST to /graphql may carry: JSON (parsed), and the CSRF-"simple" types, which
 * go on to Apollo so that its CSRF prevention refuses them with its own explanation (400).
 */
const PASSED_ON_TYPES = ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'];

/** Refuses a POST body of any other content type as 415 UNSUPPORTED_MEDIA_TYPE (via httpErrorHandler). */
export function requireJsonBody(): RequestHandler {
  return (req, _res, next) => {
    if (req.method !== 'POST' || req.headers['content-type'] === undefined || req.is(PASSED_ON_TYPES)) {
      next();
      return;
    }
    next(Object.assign(new Error('unsupported content type'), { type: 'content-type.unsupported' }));
  };
}

/**
 * The last Express middleware: every error that reaches it is answered as GraphQL-shaped JSON
 * (`{"errors":[{"message","extensions":{"code"}}]}`) with no stack; client errors are logged at warn,
 * anything else at error and masked as INTERNAL. Both carry the request id.
 */
export function httpErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const requestId = requestIdOf(req);
    const failure = httpFailureOf(err);
    if (failure)
      logger.warn({ requestId, code: failure.code, status: failure.status }, `request refused: ${failure.message}`);
    else logger.error({ err, requestId }, 'unexpected error handling an HTTP request (masked)');
    const { status, code, message } = failure ?? { status: 500, code: 'INTERNAL', message: 'Internal server error' };
    res.setHeader('x-request-id', requestId);
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { GraphQLError } from 'graphql';
import { AppError, createLogger, type Logger } from '@tenantgate/shared';
import { formatError, httpErrorHandler, toGraphQLError, unavailableHttpHead } from './errors.ts';

/** Records what the handler logs (level, fields, message) on top of a silent real logger. */
function recordingLogger(): {
  logger: Logger;
  lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }>;
} {
  const lines: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const logger = createLogger('errors-test', 'silent');
  for (const level of ['warn', 'error'] as const)
    logger[level] = ((fields: Record<string, unknown>, msg: string) => {
      lines.push({ level, fields, msg });
    }) as Logger['warn'];
  return { logger, lines };
}

let server: Server;
let url: string;
const log = recordingLogger();

beforeAll(async () => {
  const app = express();
  app.post('/graphql', express.json({ limit: '1kb' }), (_req, res) => {
    res.json({ data: { ok: true } });
  });
  app.post('/boom', () => {
    throw new Error('exploded at /work/main/secret.ts');
  });
  app.use(httpErrorHandler(log.logger));
  server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

async function send(path: string, body: string, contentType = 'application/json', requestId?: string) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(requestId ? { 'x-request-id': requestId } : {}) },
    body,
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    id: res.headers.get('x-request-id'),
    body: await res.text(),
  };
}

describe('httpErrorHandler', () => {
  it('answers body-parser failures as GraphQL-shaped JSON with a stable code, logged at warn with the request id', async () => {
    const rid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const cases: Array<[string, string, number, string]> = [
      ['{ not json', 'application/json', 400, 'BAD_REQUEST'],
      [JSON.stringify({ pad: 'x'.repeat(2000) }), 'application/json', 413, 'PAYLOAD_TOO_LARGE'],
      ['{}', 'application/json; charset=koi8-r', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ];
    for (const [body, type, status, code] of cases) {
      log.lines.length = 0;
      const r = await send('/graphql', body, type, rid);
      expect(r.status).toBe(status);
      expect(r.type).toMatch(/^application\/json/);
      expect(r.id).toBe(rid);
      const json = JSON.parse(r.body) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(json.errors[0]!.extensions).toEqual({ code });
      expect(r.body).not.toMatch(/\bat |\/work\/|node_modules|stack/);
      expect(log.lines).toEqual([
        expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ requestId: rid, code }) }),
      ]);
    }
    expect(JSON.parse((await send('/graphql', '{}', 'application/json; charset=koi8-r')).body).errors[0].message).toBe(
      'Unsupported charset "KOI8-R": send UTF-8',
    );
  });

  it('masks anything unexpected as INTERNAL (500) and logs it at error', async () => {
    log.lines.length = 0;
    const r = await send('/boom', '{}');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body)).toEqual({
      errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL' } }],
    });
    expect(r.body).not.toMatch(/exploded|\/work\//);
    expect(log.lines.map((l) => l.level)).toEqual(['error']);
    expect(log.lines[0]!.fields.requestId).toBe(r.id);
  });
});

describe('formatError: Postgres or Redis briefly unavailable', () => {
  /** What graphql-js hands Apollo when a resolver threw `original`. */
  const fromResolver = (original: Error) =>
    new GraphQLError(original.message, { path: ['resources'], originalError: original });

  it('regression: a resolver that lost the database answered INTERNAL; it is SERVICE_UNAVAILABLE, retryable', () => {
    const dropped = new Error('driver failed', { cause: new Error('Connection terminated unexpectedly') });
    const error = fromResolver(dropped);
    expect(formatError(error.toJSON(), error)).toEqual({
      message: 'The service is temporarily unavailable; retry',
      path: ['resources'],
      extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 },
    });
    const redis = fromResolver(
      Object.assign(new Error('Reached the max retries'), { name: 'MaxRetriesPerRequestError' }),
    );
    expect(formatError(redis.toJSON(), redis).extensions?.code).toBe('SERVICE_UNAVAILABLE');
  });

  it('leaves other failures as they were: AppErrors keep their code, the unexpected stays INTERNAL', () => {
    const pve = fromResolver(
      new AppError('PVE_UNREACHABLE', 'The power action could not be sent to PVE', undefined, {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      }),
    );
    expect(formatError(pve.toJSON(), pve).extensions?.code).toBe('PVE_UNREACHABLE');
    const bug = fromResolver(new TypeError('x is undefined'));
    expect(formatError(bug.toJSON(), bug)).toEqual({
      message: 'Internal server error',
      path: ['resources'],
      extensions: { code: 'INTERNAL' },
    });
  });

  it('a typed SERVICE_UNAVAILABLE thrown before execution carries 503 and Retry-After for Apollo', () => {
    const err = toGraphQLError(
      new AppError('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry', { retryAfterSeconds: 5 }),
      true,
    );
    const http = err.extensions.http as { status: number; headers: Map<string, string> };
    expect(http.status).toBe(503);
    expect([...http.headers]).toEqual([['retry-after', '5']]);
    expect(err.extensions.retryAfterSeconds).toBe(5);
    // other codes get no Retry-After header
    const forbidden = toGraphQLError(AppError.forbidden(), true).extensions.http as {
      status: number;
      headers?: unknown;
    };
    expect(forbidden).toEqual({ status: 403 });
  });

  it('unavailableHttpHead turns a response with a SERVICE_UNAVAILABLE error into 503 + Retry-After', () => {
    expect(unavailableHttpHead(undefined)).toBeNull();
    expect(unavailableHttpHead([{ message: 'x', extensions: { code: 'FORBIDDEN' } }])).toBeNull();
    expect(
      unavailableHttpHead([
        { message: 'x', extensions: { code: 'NOT_FOUND' } },
        { message: 'y', extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 5 } },
      ]),
    ).toEqual({ status: 503, retryAfter: '5' });
  });
});

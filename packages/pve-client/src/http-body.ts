import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { z } from 'zod';
import type { PveErrorContext } from './errors/pve-error.ts';
import { PveResponseInvalidError } from './errors/pve-response-invalid-error.ts';

/** Decompresses a gzip/deflate body without letting it expand beyond `maxBytes` (a zip bomb is "too large"). */
export function decodeBody(
  context: PveErrorContext,
  body: Buffer,
  encoding: string | undefined,
  maxBytes: number,
): Buffer {
  const enc = (encoding ?? 'identity').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  try {
    if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync(body, { maxOutputLength: maxBytes });
    if (enc === 'deflate') {
      try {
        return inflateSync(body, { maxOutputLength: maxBytes });
      } catch (err) {
        if (isTooLarge(err)) throw err;
        return inflateRawSync(body, { maxOutputLength: maxBytes });
      }
    }
  } catch (err) {
    if (isTooLarge(err)) {
      throw new PveResponseInvalidError(context, 'too-large', '', [
        `decompressed body exceeds the limit of ${maxBytes} bytes`,
      ]);
    }
    throw new PveResponseInvalidError(context, 'bad-encoding', '', [
      `cannot decode ${enc} body: ${(err as Error).message}`,
    ]);
  }
  throw new PveResponseInvalidError(context, 'bad-encoding', '', [
    `unsupported content-encoding ${JSON.stringify(enc)}`,
  ]);
}

function isTooLarge(err: unknown): boolean {
  return err instanceof RangeError || (err as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/**
 * JSON.parse with one fallback: the cluster log prints messages into JSON without escaping backslashes
 * (formats.md §4.3), so a stray `\` that starts no valid escape is read as a literal backslash.
 */
export function parseJsonBody(context: PveErrorContext, text: string, contentType: string | undefined): unknown {
  if ((contentType ?? '').toLowerCase().includes('text/html') || /^\s*</.test(text)) {
    const title = /<title>([^<]{0,200})<\/title>/i.exec(text)?.[1]?.trim();
    throw new PveResponseInvalidError(context, 'html', '', [
      `expected JSON, got an HTML page${title ? ` ("${title}")` : ''}`,
    ]);
  }
  if (text.trim() === '') throw new PveResponseInvalidError(context, 'truncated', '', ['empty body']);
  try {
    return JSON.parse(text);
  } catch (first) {
    const repaired = repairBackslashes(text);
    if (repaired !== text) {
      try {
        return JSON.parse(repaired);
      } catch {
        // report the original error below
      }
    }
    const message = (first as Error).message;
    const truncated = /end of JSON input|Unterminated/i.test(message) || positionOf(message) >= text.trimEnd().length;
    throw new PveResponseInvalidError(context, truncated ? 'truncated' : 'not-json', '', [
      `${truncated ? 'body ends before the JSON is complete' : 'body is not valid JSON'} (${message}; ${text.length} bytes)`,
    ]);
  }
}

function positionOf(message: string): number {
  const m = /position (\d+)/.exec(message);
  return m ? Number(m[1]) : -1;
}

/** Doubles every backslash inside a string literal that does not start a valid JSON escape. */
function repairBackslashes(text: string): string {
  // Valid escapes are consumed as pairs first, so `\\b` stays an escaped backslash followed by `b`.
  return text.replace(/\\(["\\/bfnrt]|u[0-9a-fA-F]{4})|\\/g, (match, escape: string | undefined) =>
    escape ? match : '\\\\',
  );
}

/** `['data', 3, 'vmid']` → `data[3].vmid` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function schemaError(
  context: PveErrorContext,
  prefix: readonly PropertyKey[],
  error: z.ZodError,
): PveResponseInvalidError {
  const issues = error.issues.map((issue) => {
    const path = formatPath([...prefix, ...issue.path]);
    return `${path || '(root)'}: ${issue.message}`;
  });
  const field = formatPath([...prefix, ...(error.issues[0]?.path ?? [])]);
  return new PveResponseInvalidError(context, 'schema', field, issues);
}

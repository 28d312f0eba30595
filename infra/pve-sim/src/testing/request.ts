// Test-only HTTPS client: raw status line, headers and body (no JSON assumptions), certificate
// checked against the simulator's fingerprint.
import { request as httpsRequest } from 'node:https';
import { gunzipSync } from 'node:zlib';
import type { TLSSocket } from 'node:tls';

export interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  /** Decompressed body text. */
  text: string;
  /** Body bytes as sent on the wire. */
  wireBytes: number;
  fingerprint: string;
  json<T = any>(): T;
}

export function request(
  baseUrl: string,
  path: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    form?: Record<string, string | number>;
    signal?: AbortSignal;
  } = {},
): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  const headers: Record<string, string> = { 'Accept-Encoding': 'gzip', ...opts.headers };
  let body = opts.body;
  if (opts.form) {
    body = new URLSearchParams(Object.entries(opts.form).map(([k, v]): [string, string] => [k, String(v)])).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: opts.method ?? 'GET',
        headers,
        rejectUnauthorized: false,
        agent: false,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const text =
            res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
          const cert = (res.socket as TLSSocket).getPeerCertificate?.();
          resolve({
            status: res.statusCode ?? 0,
            reason: res.statusMessage ?? '',
            headers: res.headers,
            text,
            wireBytes: raw.length,
            fingerprint: cert?.fingerprint256 ?? '',
            json: () => JSON.parse(text),
          });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function tokenHeader(token: string): Record<string, string> {
  return { Authorization: `PVEAPIToken=${token}` };
}

// A real local HTTPS server for the client's transport tests (no mocked HTTP). Test-only; not exported.
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { generate } from 'selfsigned';

export interface TestCert {
  key: string;
  cert: string;
  /** `AA:BB:…` SHA-256 of the certificate, as Node computes it. */
  fingerprint: string;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

const SAN = {
  name: 'subjectAltName' as const,
  altNames: [
    { type: 2 as const, value: 'localhost' },
    { type: 7 as const, ip: '127.0.0.1' },
  ],
};

export async function selfSignedCert(cn = 'pve-test'): Promise<TestCert> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [SAN],
  });
  return { key: pems.private, cert: pems.cert, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}

/** A CA and a leaf certificate for 127.0.0.1 signed by it. */
export async function caSignedCert(): Promise<{ ca: string; leaf: TestCert }> {
  const ca = await generate([{ name: 'commonName', value: 'tenantgate test CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', serverAuth: true }, SAN],
  });
  return {
    ca: ca.cert,
    leaf: { key: leaf.private, cert: leaf.cert, fingerprint: new X509Certificate(leaf.cert).fingerprint256 },
  };
}

export class HttpsTestServer {
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted (a client that refuses the certificate still connects). */
  connections = 0;
  inFlight = 0;
  maxInFlight = 0;
  handler: Handler = (_req, res) => json(res, 200, { data: null });
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(cert: TestCert): Promise<HttpsTestServer> {
    const server = createServer({ key: cert.key, cert: cert.cert });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    );
    const instance = new HttpsTestServer(server, `https://127.0.0.1:${port}`);
    server.on('connection', () => instance.connections++);
    server.on('secureConnection', (socket) => {
      instance.sockets.add(socket);
      socket.on('close', () => instance.sockets.delete(socket));
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        instance.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        instance.inFlight++;
        instance.maxInFlight = Math.max(instance.maxInFlight, instance.inFlight);
        res.on('close', () => instance.inFlight--);
        Promise.resolve(instance.handler(req, res, body)).catch((err: unknown) => {
          res.destroy(err as Error);
        });
      });
    });
    return instance;
  }

  /** Presents another certificate on new connections and drops the existing ones (a node whose cert changed). */
  swapCertificate(cert: TestCert): void {
    this.server.setSecureContext({ key: cert.key, cert: cert.cert });
    this.dropConnections();
  }

  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function json(res: ServerResponse, status: number, body: unknown, statusMessage?: string): void {
  const text = JSON.stringify(body);
  const headers = { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) };
  if (statusMessage === undefined) res.writeHead(status, headers);
  else res.writeHead(status, statusMessage, headers);
  res.end(text);
}

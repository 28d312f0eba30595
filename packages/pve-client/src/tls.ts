import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import { PveTlsFingerprintMismatchError } from './errors/pve-tls-fingerprint-mismatch-error.ts';

export interface ConnectorOptions {
  connectionName: string;
  /** Normalised `AA:BB:…` SHA-256 fingerprint to pin, or undefined for CA validation. */
  fingerprint: string | undefined;
  ca: string | Buffer | undefined;
  connectTimeoutMs: number;
}

/**
 * A connector that either pins the certificate fingerprint (PVE's model for self-signed nodes) or validates
 * against a CA. With a pin, chain validation is off and the pin is checked on `secureConnect`, before undici
 * writes a single request byte, so a wrong server never sees the Authorization header. TLS session resumption
 * is disabled: every connection presents and is checked against its certificate.
 */
export function buildPveConnector(options: ConnectorOptions): buildConnector.connector {
  const common = { allowH2: false, maxCachedSessions: 0, timeout: options.connectTimeoutMs } as const;
  const expected = options.fingerprint;
  if (expected === undefined) {
    return buildConnector({
      ...common,
      rejectUnauthorized: true,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    });
  }
  const base = buildConnector({ ...common, rejectUnauthorized: false });
  return (connectOptions, callback) => {
    base(connectOptions, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('connector returned no socket'), null);
        return;
      }
      const cert = (socket as TLSSocket).getPeerCertificate?.();
      const actual = cert?.fingerprint256 ? cert.fingerprint256.toUpperCase() : '(no certificate)';
      if (actual !== expected) {
        socket.destroy();
        callback(new PveTlsFingerprintMismatchError({ connection: options.connectionName }, expected, actual), null);
        return;
      }
      callback(null, socket);
    });
  };
}

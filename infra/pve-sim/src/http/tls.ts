// Self-signed certificate per simulated cluster, like pve-ssl.pem on a fresh node.
import { generateKeyPair, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: string;
  cert: string;
  /** SHA-256 fingerprint as PVE shows it: upper-case hex pairs joined by ':'. */
  fingerprint: string;
}

// RSA key generation dominates start-up (~0.3-0.7 s per key); clusters share one 2048-bit key
// and each gets its own certificate (own serial, CN and validity, hence its own fingerprint).
let sharedKey: Promise<{ privateKey: string; publicKey: string }> | undefined;

function rsaKey(): Promise<{ privateKey: string; publicKey: string }> {
  sharedKey ??= promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return sharedKey;
}

export async function generateCertificate(commonName: string, host: string): Promise<TlsMaterial> {
  const notBeforeDate = new Date(Date.now() - 86400_000);
  const pems = await generate(
    [
      { name: 'commonName', value: commonName },
      { name: 'organizationName', value: 'PVE Cluster Node' },
    ],
    {
      keyType: 'rsa',
      keySize: 2048,
      keyPair: await rsaKey(),
      algorithm: 'sha256',
      notBeforeDate,
      notAfterDate: new Date(notBeforeDate.getTime() + 2 * 365 * 86400_000),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 2, value: commonName },
            ...(/^[\d.]+$/.test(host) || host.includes(':')
              ? [{ type: 7 as const, ip: host }]
              : [{ type: 2 as const, value: host }]),
          ],
        },
      ],
    },
  );
  return { key: pems.private, cert: pems.cert, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}

import { createHash } from 'node:crypto';
import { AppError } from '@tenantgate/shared';

/** SHA-256 fingerprint of a DER certificate, as PVE and Node print it: `AA:BB:…` (upper case). */
export function fingerprintOf(certDer: Buffer): string {
  return formatFingerprint(createHash('sha256').update(certDer).digest('hex'));
}

/**
 * Normalises a user-given SHA-256 fingerprint: any case, separators `:`, `-`, space or none.
 * Returns `AA:BB:…` or throws when it is not 32 bytes of hex.
 */
export function normaliseFingerprint(input: string): string {
  const hex = input
    .trim()
    .replace(/^sha256[:=\s]*/i, '')
    .replace(/[\s:-]/g, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw AppError.badInput('fingerprint must be a SHA-256 fingerprint: 32 hex bytes, optionally separated by ":"');
  }
  return formatFingerprint(hex);
}

function formatFingerprint(hex: string): string {
  return (hex.toUpperCase().match(/../g) ?? []).join(':');
}

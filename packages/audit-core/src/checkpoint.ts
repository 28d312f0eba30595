// Signed checkpoints: Ed25519 over (chain, head seq, head hash, time, previous checkpoint's
// signature). Linking each checkpoint to the previous one makes a deleted or replaced checkpoint
// visible; the signature makes a recomputed chain visible.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.ts';

export const CHECKPOINT_TAG = 'tenantgate.audit.checkpoint.v1\n';

export interface Checkpoint {
  chainId: string;
  tenantId: string | null;
  seq: number;
  /** Hex record_hash of the record at `seq` (the chain head when signed). */
  headHash: string;
  /** ISO-8601 UTC with milliseconds. */
  createdAt: string;
  /** Base64 signature of the previous checkpoint of this chain; null for the first. */
  prevSignature: string | null;
  keyId: string;
  /** Base64 Ed25519 signature. */
  signature: string;
}

export type UnsignedCheckpoint = Omit<Checkpoint, 'signature' | 'keyId'>;

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointMessage(cp: Omit<Checkpoint, 'signature'>): Buffer {
  const body = canonicalJson({
    v: 1,
    chainId: cp.chainId,
    tenantId: cp.tenantId,
    seq: cp.seq,
    headHash: cp.headHash,
    createdAt: cp.createdAt,
    prevSignature: cp.prevSignature,
    keyId: cp.keyId,
  });
  return Buffer.concat([Buffer.from(CHECKPOINT_TAG), Buffer.from(body)]);
}

export function signCheckpoint(key: SigningKey, cp: UnsignedCheckpoint): Checkpoint {
  const unsigned = { ...cp, keyId: key.keyId };
  const signature = sign(null, checkpointMessage(unsigned), key.privateKey).toString('base64');
  return { ...unsigned, signature };
}

/** True when the signature is a valid Ed25519 signature by `publicKey` over the checkpoint. */
export function checkpointSignatureValid(cp: Checkpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, checkpointMessage(cp), publicKey, Buffer.from(cp.signature, 'base64'));
  } catch {
    return false;
  }
}

/** Key id: the first 16 hex digits of SHA-256 over the SPKI DER of the public key. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Loads an Ed25519 private key given as PKCS#8 PEM or as base64 PKCS#8 DER. */
export function loadSigningKey(text: string): SigningKey {
  const trimmed = text.trim();
  const privateKey = trimmed.startsWith('-----BEGIN')
    ? createPrivateKey({ key: trimmed, format: 'pem' })
    : createPrivateKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'pkcs8' });
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`audit signing key must be Ed25519, got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

/** Loads an Ed25519 public key given as SPKI PEM, base64 SPKI DER, or derives it from a private key. */
export function loadPublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  if (trimmed.includes('PRIVATE KEY')) key = createPublicKey(createPrivateKey(trimmed));
  else if (trimmed.startsWith('-----BEGIN')) key = createPublicKey(trimmed);
  else {
    const der = Buffer.from(trimmed, 'base64');
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      key = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    }
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('audit verification key must be Ed25519');
  return key;
}

/** Base64 SPKI DER: how bundles carry a public key. */
export function publicKeyToBase64(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

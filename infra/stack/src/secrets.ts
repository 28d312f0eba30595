import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Local secrets of a dev stack, generated once and kept under .data (git-ignored, mode 0600). */
export interface StackSecrets {
  /** AES-256-GCM key (base64, 32 bytes) for PVE token secrets at rest. */
  credentialsKey: string;
  /** Ed25519 private key (PKCS#8 PEM) that signs audit checkpoints. */
  auditSigningKey: string;
  /** Demo passwords by username (demo only, loopback only). */
  demoPasswords: Record<string, string>;
}

export function generateSecrets(): StackSecrets {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    credentialsKey: randomBytes(32).toString('base64'),
    auditSigningKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    demoPasswords: {},
  };
}

export async function loadOrCreateSecrets(file: string): Promise<StackSecrets> {
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as StackSecrets;
  const secrets = generateSecrets();
  await saveSecrets(file, secrets);
  return secrets;
}

export async function saveSecrets(file: string, secrets: StackSecrets): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
}

/** A readable random password: four groups of letters and digits. */
export function demoPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(16);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return [0, 4, 8, 12].map((i) => chars.slice(i, i + 4).join('')).join('-');
}

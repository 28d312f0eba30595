import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (infra/stack/src → ../../..). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const dataDir = join(repoRoot, '.data');

import { AccessError } from './errors.ts';
import { BUILTIN_ROLE_SETS, type BuiltinRoleSet } from './builtin-roles-data.ts';

export type { BuiltinRoleSet };

/** The newest role table (libpve-access-control 9.1.1, PVE 9.1): the default everywhere. */
export const DEFAULT_PVE_VERSION = '9.1.1';

// PVE release (`X.Y`) → the libpve-access-control version whose role table it ships. 9.0 GA
// (2025-08) already had VM.Replicate (added in 9.0.3, 2025-07-30); 9.0.2 was the beta's table.
const RELEASES: Record<string, string> = {
  '8.0': '8.0.0',
  '8.1': '8.2.2',
  '8.2': '8.2.2',
  '8.3': '8.2.2',
  '8.4': '8.2.2',
  '9.0': '9.1.1',
  '9.1': '9.1.1',
};

/** Names accepted by `pveVersion` options: library versions (`9.1.1`) and PVE releases (`9.1`). */
export function knownPveVersions(): string[] {
  return [...BUILTIN_ROLE_SETS.map((s) => s.version), ...Object.keys(RELEASES)];
}

/**
 * The built-in role table for a PVE version: an exact libpve-access-control version from
 * builtin-roles.json, or a PVE release `X.Y` (8.0 … 9.1). Throws `UNKNOWN_PVE_VERSION` otherwise.
 */
export function builtinRoleSet(pveVersion: string = DEFAULT_PVE_VERSION): BuiltinRoleSet {
  const exact = BUILTIN_ROLE_SETS.find((s) => s.version === pveVersion);
  if (exact) return exact;
  const release = /^(\d+\.\d+)(?:[.-]\d+)?$/.exec(pveVersion)?.[1];
  const mapped = release === undefined ? undefined : RELEASES[release];
  const set = mapped === undefined ? undefined : BUILTIN_ROLE_SETS.find((s) => s.version === mapped);
  if (!set) throw AccessError.unknownVersion(pveVersion, knownPveVersions());
  return set;
}

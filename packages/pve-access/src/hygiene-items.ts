// Per-item view of the hygiene engine: which findings of a whole-configuration run concern one
// user, token, group, role or ACL entry. pve-sync attaches these to its access-change events, so
// an event about an item and the `hygieneFindings` report of the same configuration can never
// disagree (the findings come from one run of one engine; this only selects).
import { FindingCode, hygieneFindings, type Finding, type HygieneOptions } from './hygiene.ts';
import { normalizePath } from './ids.ts';
import type { AclSubjectType, UserConfig } from './types.ts';

/** One item of an access configuration, as a change or a snapshot names it. */
export type AccessItemRef =
  | { kind: 'user'; userid: string }
  /** Full token id `user@realm!name`. */
  | { kind: 'token'; tokenid: string }
  /** Group id without `@`. */
  | { kind: 'group'; groupid: string }
  | { kind: 'role'; roleid: string }
  | { kind: 'acl'; path: string; type: AclSubjectType; ugid: string; roleid: string }
  | { kind: 'pool'; poolid: string };

const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/**
 * The findings (from `findings`, one `hygieneFindings` run) that are about `item`:
 * - user / token / group: the findings whose subject it is; a group also carries
 *   DISABLED_USER_GRANTED of members that hold privileges through it;
 * - role: ADMIN_ON_ROOT findings the role contributes to;
 * - ACL entry: the findings of its subject on its path (ADMIN_ON_ROOT on `/`, DISABLED_USER_GRANTED
 *   of the user, or of the group's members, whose granted paths include it).
 * Pools have no findings.
 */
export function findingsForItem(findings: readonly Finding[], item: AccessItemRef): Finding[] {
  switch (item.kind) {
    case 'user':
      return findings.filter((f) => f.subjectType === 'user' && f.subject === item.userid);
    case 'token':
      return findings.filter((f) => f.subjectType === 'token' && f.subject === item.tokenid);
    case 'group':
      return findings.filter(
        (f) =>
          (f.subjectType === 'group' && f.subject === item.groupid) ||
          (f.code === FindingCode.DISABLED_USER_GRANTED && stringList(f.details.groups).includes(item.groupid)),
      );
    case 'role':
      return findings.filter(
        (f) => f.code === FindingCode.ADMIN_ON_ROOT && stringList(f.details.roles).includes(item.roleid),
      );
    case 'acl': {
      const path = normalizePath(item.path);
      if (path === null) return [];
      return findings.filter((f) => {
        if (f.code === FindingCode.ADMIN_ON_ROOT) {
          return f.subjectType === item.type && f.subject === item.ugid && path === '/' && f.path === '/';
        }
        if (f.code === FindingCode.DISABLED_USER_GRANTED) {
          if (!stringList(f.details.paths).includes(path)) return false;
          if (item.type === 'user') return f.subject === item.ugid && stringList(f.details.directPaths).includes(path);
          return item.type === 'group' && stringList(f.details.groups).includes(item.ugid);
        }
        return false;
      });
    }
    case 'pool':
      return [];
  }
}

/** Runs the engine once and answers per item: `forItem(item)` = `findingsForItem(all, item)`. */
export function hygieneIndex(
  config: UserConfig,
  options: HygieneOptions,
): { all: Finding[]; forItem(item: AccessItemRef): Finding[] } {
  const all = hygieneFindings(config, options);
  return { all, forItem: (item) => findingsForItem(all, item) };
}

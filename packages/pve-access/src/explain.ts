// Turns the traced role walks of AccessModel.explain into structured steps and sentences an
// operator can read ("which ACL entries, groups, pools and token rules gave or took it away").
import type { AccountStatus, SubjectKind } from './model.ts';
import type { AclSubjectType } from './types.ts';

/** One ACL entry seen during a walk, and what became of it. */
export interface TraceEntry {
  path: string;
  type: AclSubjectType;
  ugid: string;
  roleid: string;
  propagate: boolean;
  /**
   * counts: part of the result; not-propagating: propagate=0 on an ancestor, so it does not reach
   * the path; replaced-by-deeper: a deeper node decided; user-beats-group: the user's own entries
   * at the same node win; wiped-by-noaccess: NoAccess at the same node removed it.
   */
  status: 'counts' | 'not-propagating' | 'replaced-by-deeper' | 'user-beats-group' | 'wiped-by-noaccess';
  /** Whether the entry's role contains the privilege asked about. */
  containsPrivilege: boolean;
}

/** The role walk from `/` to a path for one subject (a user, or a privsep token's own entries). */
export interface WalkTrace {
  subject: string;
  path: string;
  /** The deepest node whose applicable entries decided the roles; null when none applied. */
  decidedAt: string | null;
  decidedBy: 'token' | 'user' | 'group' | null;
  noAccess: boolean;
  /** Root first. */
  entries: TraceEntry[];
}

export type ExplanationStep =
  | { kind: 'superuser' }
  | { kind: 'invalid-subject' }
  | { kind: 'undefined-token'; owner: string }
  | { kind: 'shared-token'; owner: string }
  | { kind: 'acl-walk'; for: 'subject' | 'owner'; walk: WalkTrace; grantsPrivilege: boolean }
  | {
      kind: 'pool';
      for: 'subject' | 'owner';
      pool: string;
      walk: WalkTrace;
      effect: 'adds-privilege' | 'adds-nothing-relevant' | 'noaccess-removes-all' | 'blocked-by-direct-noaccess';
    }
  | { kind: 'token-intersection'; owner: string; tokenHas: boolean; ownerHas: boolean }
  | { kind: 'account'; status: AccountStatus };

export interface Explanation {
  subject: string;
  path: string;
  privilege: string;
  granted: boolean;
  /** PVE's propagate flag of the privilege when granted. */
  propagate: 0 | 1 | null;
  subjectKind: SubjectKind;
  steps: ExplanationStep[];
  /** The same story in sentences, most important first. */
  sentences: string[];
}

export interface ExplainInput {
  subject: string;
  path: string;
  priv: string;
  granted: boolean;
  propagate: 0 | 1 | null;
  kind: SubjectKind;
  token: { owner: string; privsep: boolean } | undefined;
  tokenOwner: string | undefined;
  userDefined: boolean;
  vmid: string | undefined;
  storeid: string | undefined;
  pools: readonly string[];
  direct: WalkTrace | undefined;
  directPools: { pool: string; trace: WalkTrace }[];
  ownerDirect: WalkTrace | undefined;
  ownerPools: { pool: string; trace: WalkTrace }[];
  ownerHas: boolean | undefined;
  ownerPropagate: 0 | 1 | null | undefined;
  tokenOwnHas: boolean | undefined;
  account: AccountStatus;
}

function who(type: AclSubjectType, ugid: string): string {
  return type === 'group' ? `group @${ugid}` : type === 'token' ? `token ${ugid}` : `user ${ugid}`;
}

function grantText(e: TraceEntry): string {
  return `${e.roleid} for ${who(e.type, e.ugid)} on ${e.path}${e.propagate ? ' (propagating)' : ' (not propagating)'}`;
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Sentences for one walk; `target` names the path the walk resolved. */
function describeWalk(walk: WalkTrace, priv: string, whose: string): string[] {
  const out: string[] = [];
  const counting = walk.entries.filter((e) => e.status === 'counts' || e.status === 'wiped-by-noaccess');
  if (walk.decidedAt === null) {
    out.push(`No ACL entry for ${whose} applies on the way from / to ${walk.path}, so the path itself gives no roles.`);
  } else {
    const where =
      walk.decidedAt === walk.path
        ? `set on ${walk.path} itself`
        : `inherited from ${walk.decidedAt} because they propagate`;
    const by = walk.decidedBy === 'group' ? `the groups of ${whose}` : whose;
    out.push(
      `For ${walk.path}, the deciding ACL entries for ${by} are ${where}: ${list(counting.map(grantText))}. ` +
        `A deeper ACL always replaces everything inherited from above.`,
    );
    if (walk.noAccess) {
      const na = counting.find((e) => e.roleid === 'NoAccess')!;
      out.push(
        `NoAccess for ${who(na.type, na.ugid)} on ${na.path} removes every other role resolved at that node, so nothing is granted there.`,
      );
    } else {
      const giving = counting.filter((e) => e.containsPrivilege);
      if (giving.length > 0) {
        out.push(`${priv} comes from role ${list(giving.map((e) => `${e.roleid} (${who(e.type, e.ugid)})`))}.`);
      } else {
        out.push(`None of these roles (${list([...new Set(counting.map((e) => e.roleid))])}) contains ${priv}.`);
      }
    }
  }
  for (const e of walk.entries) {
    if (!e.containsPrivilege && e.roleid !== 'NoAccess') continue;
    switch (e.status) {
      case 'replaced-by-deeper':
        out.push(
          `${grantText(e)} would ${e.roleid === 'NoAccess' ? 'deny access' : `grant ${priv}`}, but the deeper ACL on ${walk.decidedAt} replaces it.`,
        );
        break;
      case 'not-propagating':
        out.push(`${grantText(e)} has propagate=0, so it applies to ${e.path} only, not to ${walk.path}.`);
        break;
      case 'user-beats-group':
        out.push(
          `${grantText(e)} does not count: ${whose} has its own entries on ${e.path}, and user entries beat group entries at the same node.`,
        );
        break;
      case 'wiped-by-noaccess':
        if (e.containsPrivilege)
          out.push(`${grantText(e)} would grant ${priv}, but NoAccess at the same node wipes it out.`);
        break;
      default:
        break;
    }
  }
  return out;
}

function describePools(
  steps: ExplanationStep[],
  out: string[],
  input: ExplainInput,
  direct: WalkTrace | undefined,
  pools: { pool: string; trace: WalkTrace }[],
  whose: string,
  stepFor: 'subject' | 'owner',
): void {
  const member = input.vmid !== undefined ? `VM ${input.vmid}` : `storage ${input.storeid}`;
  for (const { pool, trace } of pools) {
    let effect: Extract<ExplanationStep, { kind: 'pool' }>['effect'];
    if (direct?.noAccess) effect = 'blocked-by-direct-noaccess';
    else if (trace.noAccess) effect = 'noaccess-removes-all';
    else if (trace.entries.some((e) => e.status === 'counts' && e.containsPrivilege)) effect = 'adds-privilege';
    else effect = 'adds-nothing-relevant';
    steps.push({ kind: 'pool', for: stepFor, pool, walk: trace, effect });
    out.push(
      `${member} is in pool '${pool}', so the roles ${whose} has on /pool/${pool} are added at ${input.path} (only at that exact path, with propagate=0 unless also granted directly).`,
    );
    out.push(...describeWalk(trace, input.priv, whose));
    if (effect === 'blocked-by-direct-noaccess')
      out.push(`The direct NoAccess on ${input.path} wins: a pool cannot lift it.`);
    if (effect === 'noaccess-removes-all') {
      out.push(`NoAccess resolved on /pool/${pool} beats every direct grant on ${input.path}: no privileges there.`);
    }
  }
}

export function buildExplanation(input: ExplainInput): Explanation {
  const { subject, path, priv } = input;
  const steps: ExplanationStep[] = [];
  const out: string[] = [];
  out.push(
    input.granted
      ? `${subject} HAS ${priv} on ${path} (propagate=${input.propagate}).`
      : `${subject} does NOT have ${priv} on ${path}.`,
  );
  if (input.kind === 'root') {
    steps.push({ kind: 'superuser' });
    out.push('root@pam is the built-in superuser: it has every privilege on every path; ACLs and pools do not matter.');
  } else if (input.kind === 'invalid') {
    steps.push({ kind: 'invalid-subject' });
    out.push(
      `'${subject}' is neither a user id (name@realm) nor a token id (name@realm!token); PVE grants it nothing.`,
    );
  } else if (input.kind === 'token' && !input.token) {
    steps.push({ kind: 'undefined-token', owner: input.tokenOwner! });
    out.push(`Token ${subject} is not defined, so PVE grants it nothing (ACL entries naming it are dropped).`);
  } else if (input.kind === 'token' && !input.token!.privsep) {
    steps.push({ kind: 'shared-token', owner: input.token!.owner });
    out.push(
      `Token ${subject} has privilege separation off (privsep=0): it has exactly the privileges of its owner ${input.token!.owner}; ACL entries naming the token are ignored.`,
    );
    if (input.token!.owner === 'root@pam') {
      out.push('Its owner root@pam is the superuser, so the token has every privilege everywhere.');
    } else if (input.direct) {
      const granted = input.direct.entries.some((e) => e.status === 'counts' && e.containsPrivilege);
      steps.push({
        kind: 'acl-walk',
        for: 'owner',
        walk: input.direct,
        grantsPrivilege: granted && !input.direct.noAccess,
      });
      out.push(...describeWalk(input.direct, priv, input.token!.owner));
      describePools(steps, out, input, input.direct, input.directPools, input.token!.owner, 'owner');
    }
  } else if (input.direct) {
    const whose = subject;
    const granted = input.direct.entries.some((e) => e.status === 'counts' && e.containsPrivilege);
    steps.push({
      kind: 'acl-walk',
      for: 'subject',
      walk: input.direct,
      grantsPrivilege: granted && !input.direct.noAccess,
    });
    if (input.kind === 'token') {
      out.push(
        `Token ${subject} is privilege-separated (privsep=1): only ACL entries naming the token count for it (not its owner's user or group entries), and the result is then intersected with the owner's privileges.`,
      );
    }
    out.push(...describeWalk(input.direct, priv, whose));
    describePools(steps, out, input, input.direct, input.directPools, whose, 'subject');
    if (input.kind === 'token') {
      const owner = input.token!.owner;
      const tokenHas = input.tokenOwnHas === true;
      const ownerHas = input.ownerHas === true;
      steps.push({ kind: 'token-intersection', owner, tokenHas, ownerHas });
      if (owner === 'root@pam') {
        out.push(
          'Its owner is root@pam, which has everything, so no intersection applies: the token keeps its own ACL privileges.',
        );
      } else {
        if (input.ownerDirect) {
          steps.push({ kind: 'acl-walk', for: 'owner', walk: input.ownerDirect, grantsPrivilege: ownerHas });
          out.push(...describeWalk(input.ownerDirect, priv, owner));
          describePools(steps, out, input, input.ownerDirect, input.ownerPools, owner, 'owner');
        }
        out.push(
          `Intersection with the owner: the token's own ACLs ${tokenHas ? 'give' : 'do not give'} ${priv}; owner ${owner} ${ownerHas ? `has it (propagate=${input.ownerPropagate})` : 'does not have it'}. ` +
            (tokenHas && ownerHas
              ? 'Both have it, so the token keeps it (propagate is the AND of both flags).'
              : 'A privilege-separated token keeps a privilege only when both have it.'),
        );
      }
    }
  }
  const acct = input.account;
  if (input.kind === 'user' && !input.userDefined) {
    out.push(
      `${subject} has no user entry; PVE still computes privileges from the groups and ACLs that name it, but nobody can log in as it.`,
    );
  } else if (input.kind !== 'root' && input.kind !== 'invalid' && !acct.canAuthenticate && acct.exists) {
    steps.push({ kind: 'account', status: acct });
    out.push(
      `Note: PVE's permission calculation ignores account flags, so the privileges above are what PVE reports; but ${list(acct.reasons)}, so PVE refuses logins and every request of this subject.`,
    );
  }
  return {
    subject,
    path,
    privilege: priv,
    granted: input.granted,
    propagate: input.propagate,
    subjectKind: input.kind,
    steps,
    sentences: out,
  };
}

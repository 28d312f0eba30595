// PVE's request authentication (api-shapes.md §1, acl-semantics.md D): API tokens, tickets
// (`PVE:<userid>:<hex time>::<signature>`, 2 h valid, 5 min skew) and CSRF tokens.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isTokenId } from '../access/access-config.ts';
import type { ClusterState } from '../model/cluster-state.ts';

export interface Subject {
  /** user id or full token id */
  authId: string;
  userid: string;
  isToken: boolean;
  viaTicket: boolean;
}

export type AuthResult =
  | { ok: true; subject: Subject }
  | {
      ok: false;
      reason: 'No ticket' | 'Authentication failed!' | 'Permission denied - invalid csrf token';
      logReason?: string;
    };

export const TICKET_LIFETIME_S = 7200;
const TICKET_SKEW_S = 300;

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

export class TicketAuthority {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  #sign(data: string): string {
    return createHmac('sha256', this.#key).update(data).digest('base64');
  }

  mintTicket(userid: string, nowS: number): string {
    const data = `PVE:${userid}:${hex8(nowS)}`;
    return `${data}::${this.#sign(data)}`;
  }

  /** The user id of a valid ticket, or undefined. */
  verifyTicket(ticket: string, nowS: number): string | undefined {
    const m = /^(PVE:(\S+):([0-9A-F]{8}))::(\S+)$/.exec(ticket);
    if (!m) return undefined;
    const expected = Buffer.from(this.#sign(m[1] as string));
    const given = Buffer.from(m[4] as string);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    const t = parseInt(m[3] as string, 16);
    if (t > nowS + TICKET_SKEW_S || nowS - t > TICKET_LIFETIME_S) return undefined;
    return m[2];
  }

  mintCsrf(userid: string, nowS: number): string {
    const ts = hex8(nowS);
    return `${ts}:${createHmac('sha256', this.#key).update(`${ts}:${userid}`).digest('base64').replace(/=+$/, '')}`;
  }

  verifyCsrf(token: string | undefined, userid: string, nowS: number): boolean {
    if (!token) return false;
    const m = /^([0-9A-F]{8}):(\S+)$/.exec(token);
    if (!m) return false;
    const t = parseInt(m[1] as string, 16);
    if (t > nowS + TICKET_SKEW_S || nowS - t > TICKET_LIFETIME_S) return false;
    const expected = createHmac('sha256', this.#key).update(`${m[1]}:${userid}`).digest('base64').replace(/=+$/, '');
    return expected === m[2];
  }
}

/** `(^|\s)NAME(=| )value` up to `;`, URL-decoded (pve-http-server). */
function extract(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const m = new RegExp(`(?:^|\\s)${name}(?:=| )([^;]*)`).exec(header);
  if (!m) return undefined;
  try {
    return decodeURIComponent((m[1] as string).trim());
  } catch {
    return (m[1] as string).trim();
  }
}

export function userState(state: ClusterState, userid: string, nowS: number): string | undefined {
  const u = state.access.users.get(userid);
  if (!u) return `no such user ('${userid}')`;
  if (u.enable !== 1) return `user '${userid}' is disabled`;
  if (u.expire !== 0 && u.expire < nowS) return `user '${userid}' access expired`;
  return undefined;
}

export function authenticate(
  state: ClusterState,
  tickets: TicketAuthority,
  headers: IncomingHttpHeaders,
  method: string,
): AuthResult {
  const nowS = state.nowS();
  const authz = Array.isArray(headers.authorization) ? headers.authorization[0] : headers.authorization;
  const ticket = extract(headers.cookie, 'PVEAuthCookie') ?? extract(authz, 'PVEAuthCookie');
  if (ticket !== undefined) {
    const userid = tickets.verifyTicket(ticket, nowS);
    if (!userid)
      return { ok: false, reason: 'Authentication failed!', logReason: 'permission denied - invalid PVE ticket' };
    const bad = userState(state, userid, nowS);
    if (bad) return { ok: false, reason: 'Authentication failed!', logReason: bad };
    if (method !== 'GET') {
      const csrf = headers.csrfpreventiontoken;
      if (!tickets.verifyCsrf(Array.isArray(csrf) ? csrf[0] : csrf, userid, nowS)) {
        return { ok: false, reason: 'Permission denied - invalid csrf token' };
      }
    }
    return { ok: true, subject: { authId: userid, userid, isToken: false, viaTicket: true } };
  }
  const token = extract(authz, 'PVEAPIToken');
  if (token === undefined) return { ok: false, reason: 'No ticket' };
  const bang = token.indexOf('!');
  const eq = bang < 0 ? -1 : token.indexOf('=', bang);
  if (bang < 0) return { ok: false, reason: 'Authentication failed!', logReason: 'no tokenid specified' };
  const tokenId = eq < 0 ? token : token.slice(0, eq);
  const secret = eq < 0 ? '' : token.slice(eq + 1);
  if (!isTokenId(tokenId)) {
    return {
      ok: false,
      reason: 'Authentication failed!',
      logReason: `'${tokenId}' is not a valid token ID - not able to split into user and token parts`,
    };
  }
  const userid = tokenId.slice(0, bang);
  const tokenName = tokenId.slice(bang + 1);
  const bad = userState(state, userid, nowS);
  if (bad) return { ok: false, reason: 'Authentication failed!', logReason: bad };
  const t = state.access.tokens.get(tokenId);
  if (!t)
    return {
      ok: false,
      reason: 'Authentication failed!',
      logReason: `no such token '${tokenName}' for user '${userid}'`,
    };
  if (t.expire !== 0 && t.expire < nowS)
    return { ok: false, reason: 'Authentication failed!', logReason: `token '${tokenName}' access expired` };
  const a = Buffer.from(t.secret);
  const b = Buffer.from(secret);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    return { ok: false, reason: 'Authentication failed!', logReason: 'invalid token value!' };
  return { ok: true, subject: { authId: tokenId, userid, isToken: true, viaTicket: false } };
}

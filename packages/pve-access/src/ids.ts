// Identifier syntax and small text helpers of PVE's access control (acl-semantics.md A1–A5, B2,
// B3, B5). Everything here is a pure function of its input.

const REALM = '[A-Za-z][A-Za-z0-9._-]+';
const USER_ID = `[^\\s:/]+@${REALM}`;
const USER_ID_RE = new RegExp(`^${USER_ID}$`);
const TOKEN_ID_RE = new RegExp(`^(${USER_ID})!([A-Za-z][A-Za-z0-9._-]+)$`);
const SIMPLE_ID_RE = /^[A-Za-z0-9._-]+$/;
const POOL_ID_RE = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+){0,2}$/;
const STORAGE_ID_RE = /^[a-z][a-z0-9._-]*[a-z0-9]$/i;
const VMID_RE = /^\d+$/;
const PATH_CHARS_RE = /^[A-Za-z0-9._/-]+$/;

/** A1: `<name>@<realm>`, 3 to 64 characters; the realm is what follows the last `@`. */
export function isValidUserId(id: string): boolean {
  return id.length >= 3 && id.length <= 64 && USER_ID_RE.test(id);
}

/** A2: splits `<userid>!<tokenname>`; null when `id` is not a syntactically valid token id. */
export function parseTokenId(id: string): { userid: string; tokenName: string } | null {
  const m = TOKEN_ID_RE.exec(id);
  if (!m || !isValidUserId(m[1]!)) return null;
  return { userid: m[1]!, tokenName: m[2]! };
}

export function isValidTokenName(name: string): boolean {
  return /^[A-Za-z][A-Za-z0-9._-]+$/.test(name);
}

/** A3/A4: group and role ids. */
export function isValidGroupId(id: string): boolean {
  return SIMPLE_ID_RE.test(id);
}
export const isValidRoleId = isValidGroupId;

/** A5: one to three `/`-separated levels. */
export function isValidPoolId(id: string): boolean {
  return POOL_ID_RE.test(id);
}

export function isValidStorageId(id: string): boolean {
  return STORAGE_ID_RE.test(id);
}

export function isValidVmid(id: string): boolean {
  return VMID_RE.test(id);
}

/** The parent pools of a nested pool id, nearest first: `a/b/c` → [`a/b`, `a`]. */
export function parentPools(poolid: string): string[] {
  const out: string[] = [];
  let cur = poolid;
  for (let i = cur.lastIndexOf('/'); i > 0; i = cur.lastIndexOf('/')) {
    cur = cur.slice(0, i);
    out.push(cur);
  }
  return out;
}

/**
 * B5: collapse repeated `/`, drop one trailing `/`, empty → `/`, add a leading `/`; then only
 * letters, digits, `.`, `-`, `_` and `/` are allowed. Returns null for an invalid path.
 */
export function normalizePath(path: string): string | null {
  let p = path.replace(/\/{2,}/g, '/');
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '') p = '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return PATH_CHARS_RE.test(p) ? p : null;
}

/** B2: list fields split on any run of commas, semicolons or whitespace. */
export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(/[,;\s]+/).filter((s) => s !== '');
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** B3: `:`, `%`, control characters and non-ASCII bytes of the UTF-8 form become `%XX`. */
export function encodeText(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) {
    if (byte === 0x3a || byte === 0x25 || byte < 0x20 || byte >= 0x7f) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += String.fromCharCode(byte);
    }
  }
  return out;
}

/** B3: the reverse of {@link encodeText}; the bytes are decoded as UTF-8. */
export function decodeText(text: string): string {
  if (!text.includes('%')) return text;
  const src = encoder.encode(text);
  const bytes: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b === 0x25 && i + 2 < src.length && isHex(src[i + 1]) && isHex(src[i + 2])) {
      bytes.push(parseInt(String.fromCharCode(src[i + 1]!, src[i + 2]!), 16));
      i += 2;
    } else {
      bytes.push(b);
    }
  }
  return decoder.decode(new Uint8Array(bytes));
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/** Plain code-unit string order, as Perl's `sort` uses for these ids. */
export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

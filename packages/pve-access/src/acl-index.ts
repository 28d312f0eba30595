// The compact form of an access configuration that permission checks run on (acl-semantics.md C2–C13).
//
// compile() interns every ACL path, member (user, group, token) and role as an integer. Per ACL node
// and member class it stores the members (sorted) in "slots", each with two precomputed privilege
// sets: the one that applies when the node is the checked path itself (every entry) and the one
// that applies when it is an ancestor (propagating entries only). A check then
//   1. resolves the path: its prefixes are walked character by character (no splitting) and looked
//      up in an open-addressing table of interned ACL paths (FNV-1a of the prefix, verified with
//      startsWith), giving the ACL nodes on the path and the pools attached at it;
//   2. walks those nodes deepest first for the subject: a per-walker bitset over node ids skips the
//      nodes where neither the subject nor one of its groups has entries with one load; at the
//      others the user's own slot beats the union of its groups' slots (C3); the first node with
//      applicable entries decides (C4–C6);
//   3. adds the pool sets (C10, C11) and intersects privsep tokens with their owner (C12, C13),
// in preallocated Uint32Array scratch sets. Nothing is cached per (subject, path).
import type { AclEntry } from './types.ts';

/** Member classes in slot order. */
export const CLASS_USER = 0;
export const CLASS_GROUP = 1;
export const CLASS_TOKEN = 2;
const CLASSES = 3;

/** Result codes of a walk. */
export const NONE = 0;
export const GRANTED = 1;
export const NO_ACCESS = 2;

const F_ANC = 1; // some entry propagates: the slot applies on descendants
const F_TARGET_NA = 2; // NoAccess among all entries
const F_ANC_NA = 4; // NoAccess among the propagating entries

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const SLASH = 47;

/** Characters allowed in a normalised path (B5): letters, digits, `.`, `-`, `_`, `/`. */
const PATH_CHAR = (() => {
  const t = new Uint8Array(128);
  for (let c = 48; c <= 57; c++) t[c] = 1;
  for (let c = 65; c <= 90; c++) t[c] = 1;
  for (let c = 97; c <= 122; c++) t[c] = 1;
  for (const c of '.-_/') t[c.charCodeAt(0)] = 1;
  return t;
})();

function hashString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** True when `path` is already in B5 normal form (so normalisation would return it unchanged). */
export function isNormalizedPath(path: string): boolean {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) !== SLASH) return false;
  let prev = SLASH;
  for (let i = 1; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c >= 128 || PATH_CHAR[c] === 0 || (c === SLASH && prev === SLASH)) return false;
    prev = c;
  }
  return n === 1 || prev !== SLASH;
}

export interface AclIndexInput {
  /** Privilege words per set (ceil(privileges / 32)). */
  readonly words: number;
  /** Role privilege bits, `words` words per role. */
  readonly roleBits: Uint32Array;
  /** 1 where the role is NoAccess, indexed like the roles of roleBits. */
  readonly roleNoAccess: Uint8Array;
  /** Valid ACL entries (normalised paths) in configuration order; later duplicates win. */
  readonly entries: readonly AclEntry[];
  /** Role index of each entry. */
  readonly entryRoles: Int32Array;
  /** VM id → its pool; storage id → its pools (C10). */
  readonly vmPool: ReadonlyMap<string, string>;
  readonly storagePools: ReadonlyMap<string, readonly string[]>;
  readonly poolIds: readonly string[];
}

/** A walker: a user with its groups, or a privsep token's own entries (tokens have no groups). */
export interface Walker {
  /** Member id in the user or token class; -1 when no ACL entry names it. */
  readonly member: number;
  readonly asToken: boolean;
  /** Sorted ids of the walker's groups that have ACL entries (empty for tokens). */
  readonly groups: Int32Array;
  /**
   * The ACL nodes where the walker or one of its groups has entries, as a bitset indexed by
   * `node & filterMask`: 8 bits per such node (at least 32), exact once that reaches the node
   * count. A walk skips every other node with one load.
   */
  readonly filter: Uint32Array;
  readonly filterMask: number;
}

/**
 * A resolved path, packed into one array: [lastIsTarget (0/1), node count, ACL node ids root
 * first…, pool indexes…]. Pools are only present at `/vms/<id>` and `/storage/<id>` of members.
 */
export type ResolvedPath = Int32Array;
const R_TARGET = 0;
const R_COUNT = 1;
const R_NODES = 2;

// Node records: NODE_STRIDE ints per node in one array, so a walk step touches one cache line.
const N_START = 0; // + class: first slot of the class; N_START + 3 = end of the node's slots
const N_FILTER = 4; // + class: member filter of the class, (word offset << 5) | log2(bits); 0 = none
const NODE_STRIDE = 8;

export class AclIndex {
  readonly words: number;
  /** Interned ACL paths by node id. */
  readonly nodePaths: readonly string[];
  /** Per pool (index into poolIds): the resolved `/pool/<id>`. */
  private readonly poolPaths: ResolvedPath[];
  private readonly poolIndex: Map<string, number>;
  private readonly vmPool: ReadonlyMap<string, string>;
  private readonly storagePools: ReadonlyMap<string, readonly string[]>;
  private readonly memberIds: [Map<string, number>, Map<string, number>, Map<string, number>];
  /** Per class: member → the nodes naming it (memberNodes[cls][memberNodeStart[cls][m] …]). */
  private readonly memberNodeStart: Int32Array[] = [];
  private readonly memberNodes: Int32Array[] = [];
  /** Per node: slot ranges per class and member filters (NODE_STRIDE ints). */
  private readonly nodeData: Int32Array;
  /** Member id per slot; sorted within each (node, class) range. */
  private readonly slotMember: Int32Array;
  /** Per slot (slotStride words): flags, target granted, target propagate, ancestor granted. */
  private readonly slotData: Uint32Array;
  private readonly slotStride: number;
  /**
   * Per (node, class) with more than two slots: a bitset indexed by `member & (bits - 1)`, 8 bits
   * per slot (at least 32) but never beyond the class's member count, where it becomes exact.
   */
  private readonly filters: Uint32Array;
  private readonly rootNode: number;

  // Interned ACL paths: open addressing, two ints per table slot (hash, node + 1; 0 = empty).
  private readonly tableMask: number;
  private readonly table: Int32Array;

  // Scratch of resolve() and unionGroups().
  private readonly chain: Int32Array;
  private readonly groupAcc: Uint32Array;

  constructor(input: AclIndexInput) {
    const w = (this.words = input.words);
    const { entries, entryRoles, roleBits, roleNoAccess } = input;
    this.vmPool = input.vmPool;
    this.storagePools = input.storagePools;
    this.memberIds = [new Map(), new Map(), new Map()];
    const nodeOf = new Map<string, number>();
    const nodePaths: string[] = [];
    let maxDepth = 0;

    // Intern nodes and members.
    const n = entries.length;
    const eNode = new Int32Array(n);
    const eClass = new Uint8Array(n);
    const eMember = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      let node = nodeOf.get(e.path);
      if (node === undefined) {
        node = nodePaths.length;
        nodeOf.set(e.path, node);
        nodePaths.push(e.path);
        let depth = 0;
        for (let k = 0; k < e.path.length; k++) if (e.path.charCodeAt(k) === SLASH) depth++;
        if (depth > maxDepth) maxDepth = depth;
      }
      const cls = e.type === 'user' ? CLASS_USER : e.type === 'group' ? CLASS_GROUP : CLASS_TOKEN;
      const ids = this.memberIds[cls];
      let member = ids.get(e.ugid);
      if (member === undefined) ids.set(e.ugid, (member = ids.size));
      eNode[i] = node;
      eClass[i] = cls;
      eMember[i] = member;
    }
    this.nodePaths = nodePaths;
    const nodes = nodePaths.length;

    // Counting sort by node, then (class, member, role, position) inside each node's bucket;
    // duplicates of (node, class, member, role) keep the last entry (as the parser does).
    const bucketStart = new Int32Array(nodes + 1);
    for (let i = 0; i < n; i++) bucketStart[eNode[i]! + 1]!++;
    for (let k = 0; k < nodes; k++) bucketStart[k + 1]! += bucketStart[k]!;
    const order = new Int32Array(n);
    const fill = bucketStart.slice(0, nodes);
    for (let i = 0; i < n; i++) order[fill[eNode[i]!]!++] = i;
    const before = (a: number, b: number): boolean => {
      if (eClass[a] !== eClass[b]) return eClass[a]! < eClass[b]!;
      if (eMember[a] !== eMember[b]) return eMember[a]! < eMember[b]!;
      if (entryRoles[a] !== entryRoles[b]) return entryRoles[a]! < entryRoles[b]!;
      return a < b;
    };
    for (let k = 0; k < nodes; k++) sortRange(order, bucketStart[k]!, bucketStart[k + 1]!, before);

    // Slots: one per (node, class, member), in node → class → member order.
    const stride = (this.slotStride = 1 + 3 * w);
    const nodeData = (this.nodeData = new Int32Array(nodes * NODE_STRIDE));
    const slotMember = new Int32Array(n);
    const data = new Uint32Array(Math.max(1, n) * stride);
    let slot = -1;
    let cursor = 0;
    for (let node = 0; node < nodes; node++) {
      const end = bucketStart[node + 1]!;
      const rec = node * NODE_STRIDE;
      for (let cls = 0; cls < CLASSES; cls++) {
        nodeData[rec + N_START + cls] = slot + 1;
        let current = -1;
        while (cursor < end && eClass[order[cursor]!] === cls) {
          const i = order[cursor++]!;
          const next = cursor < end ? order[cursor]! : -1;
          const role = entryRoles[i]!;
          // A later duplicate of the same member and role replaces this one.
          if (next >= 0 && eClass[next] === cls && eMember[next] === eMember[i] && entryRoles[next] === role) continue;
          if (eMember[i] !== current) {
            current = eMember[i]!;
            slotMember[++slot] = current;
          }
          const propagate = entries[i]!.propagate;
          const base = slot * stride;
          for (let k = 0; k < w; k++) {
            const r = roleBits[role * w + k]!;
            data[base + 1 + k]! |= r;
            if (propagate) {
              data[base + 1 + w + k]! |= r;
              data[base + 1 + 2 * w + k]! |= r;
            }
          }
          let f = data[base]!;
          if (roleNoAccess[role] === 1) f |= propagate ? F_TARGET_NA | F_ANC_NA : F_TARGET_NA;
          if (propagate) f |= F_ANC;
          data[base] = f;
        }
      }
      nodeData[rec + N_START + CLASSES] = slot + 1;
    }
    this.slotMember = slotMember.slice(0, slot + 1);
    this.slotData = data;
    this.filters = this.buildFilters(nodes);
    for (let cls = 0; cls < CLASSES; cls++) this.indexMemberNodes(cls, nodes);

    // The path table of ACL nodes.
    const size = 1 << Math.ceil(Math.log2(Math.max(16, nodes * 2)));
    this.tableMask = size - 1;
    this.table = new Int32Array(2 * size);
    for (let node = 0; node < nodes; node++) {
      const h = hashString(nodePaths[node]!);
      let i = h & this.tableMask;
      while (this.table[2 * i + 1] !== 0) i = (i + 1) & this.tableMask;
      this.table[2 * i] = h;
      this.table[2 * i + 1] = node + 1;
    }
    this.rootNode = nodeOf.get('/') ?? -1;
    this.chain = new Int32Array(maxDepth + 2);
    this.groupAcc = new Uint32Array(2 * w);
    this.poolIndex = new Map(input.poolIds.map((p, i) => [p, i]));
    // An invalid pool id cannot carry ACLs: its pool roles are empty.
    const none = Int32Array.of(0, 0);
    this.poolPaths = input.poolIds.map((pool) => this.resolve(`/pool/${pool}`, false) ?? none);
  }

  private buildFilters(nodes: number): Uint32Array {
    const nodeData = this.nodeData;
    let words = 0;
    for (let node = 0; node < nodes; node++) {
      for (let cls = 0; cls < CLASSES; cls++) {
        const rec = node * NODE_STRIDE;
        const count = nodeData[rec + N_START + cls + 1]! - nodeData[rec + N_START + cls]!;
        if (count <= 2) continue;
        const bits = Math.max(5, Math.ceil(Math.log2(Math.min(8 * count, this.memberIds[cls as 0 | 1 | 2].size))));
        nodeData[rec + N_FILTER + cls] = (words << 5) | bits;
        words += (1 << bits) >>> 5;
      }
    }
    const filters = new Uint32Array(words);
    for (let node = 0; node < nodes; node++) {
      for (let cls = 0; cls < CLASSES; cls++) {
        const rec = node * NODE_STRIDE;
        const info = nodeData[rec + N_FILTER + cls]!;
        if (info === 0) continue;
        const mask = (1 << (info & 31)) - 1;
        for (let s = nodeData[rec + N_START + cls]!; s < nodeData[rec + N_START + cls + 1]!; s++) {
          const bit = this.slotMember[s]! & mask;
          filters[(info >>> 5) + (bit >>> 5)]! |= 1 << (bit & 31);
        }
      }
    }
    return filters;
  }

  private indexMemberNodes(cls: number, nodes: number): void {
    const nodeData = this.nodeData;
    const members = this.memberIds[cls as 0 | 1 | 2].size;
    const start = new Int32Array(members + 1);
    for (let node = 0; node < nodes; node++) {
      const rec = node * NODE_STRIDE;
      for (let s = nodeData[rec + N_START + cls]!; s < nodeData[rec + N_START + cls + 1]!; s++) {
        start[this.slotMember[s]! + 1]!++;
      }
    }
    for (let m = 0; m < members; m++) start[m + 1]! += start[m]!;
    const list = new Int32Array(start[members]!);
    const next = start.slice(0, members);
    for (let node = 0; node < nodes; node++) {
      const rec = node * NODE_STRIDE;
      for (let s = nodeData[rec + N_START + cls]!; s < nodeData[rec + N_START + cls + 1]!; s++) {
        list[next[this.slotMember[s]!]!++] = node;
      }
    }
    this.memberNodeStart.push(start);
    this.memberNodes.push(list);
  }

  /** Whether an ACL entry names this user (directly, not through a group). */
  namesUser(userid: string): boolean {
    return this.memberIds[CLASS_USER].has(userid);
  }

  /** The walker of a user (with its groups) or of a privsep token's own entries. */
  walker(id: string, groups: readonly string[], asToken: boolean): Walker {
    const member = this.memberIds[asToken ? CLASS_TOKEN : CLASS_USER].get(id) ?? -1;
    const ids = new Set<number>();
    for (const gid of groups) {
      const g = this.memberIds[CLASS_GROUP].get(gid);
      if (g !== undefined) ids.add(g);
    }
    const sources: [number, number][] = [];
    if (member >= 0) sources.push([asToken ? CLASS_TOKEN : CLASS_USER, member]);
    for (const g of ids) sources.push([CLASS_GROUP, g]);
    let count = 0;
    for (const [c, m] of sources) count += this.memberNodeStart[c]![m + 1]! - this.memberNodeStart[c]![m]!;
    const bits = Math.max(5, Math.ceil(Math.log2(Math.max(1, Math.min(8 * count, this.nodePaths.length)))));
    const filter = new Uint32Array(count === 0 ? 1 : 1 << (bits - 5));
    const filterMask = (1 << bits) - 1;
    for (const [c, m] of sources) {
      const list = this.memberNodes[c]!;
      for (let i = this.memberNodeStart[c]![m]!; i < this.memberNodeStart[c]![m + 1]!; i++) {
        const bit = list[i]! & filterMask;
        filter[bit >>> 5]! |= 1 << (bit & 31);
      }
    }
    return { member, asToken, groups: Int32Array.from(ids).sort(), filter, filterMask };
  }

  /** The node of a prefix `path[0, length)` with FNV-1a hash `h`, or -1. */
  private lookup(path: string, length: number, h: number): number {
    const mask = this.tableMask;
    const table = this.table;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[2 * i + 1]!;
      if (e === 0) return -1;
      if (table[2 * i] === h) {
        const candidate = this.nodePaths[e - 1]!;
        if (candidate.length === length && path.startsWith(candidate)) return e - 1;
      }
    }
  }

  /**
   * The ACL nodes on `path` (root first) and the pools attached at it. The prefixes are walked
   * character by character, validating B5 on the way. Returns null when `path` is not in normal
   * form: the caller normalises (or rejects) it and asks again.
   */
  resolve(path: string, withPools = true): ResolvedPath | null {
    const n = path.length;
    if (n === 0 || path.charCodeAt(0) !== SLASH) return null;
    const chain = this.chain;
    let len = 0;
    if (this.rootNode >= 0) chain[len++] = this.rootNode;
    let target = n === 1 && len > 0;
    let secondSlash = -1;
    if (n > 1) {
      let h = Math.imul(FNV_OFFSET ^ SLASH, FNV_PRIME);
      let prev = SLASH;
      for (let i = 1; i < n; i++) {
        const c = path.charCodeAt(i);
        if (c === SLASH) {
          if (prev === SLASH) return null;
          if (secondSlash < 0) secondSlash = i;
          else secondSlash = n; // deeper than two levels: no pool member path
          if (len < chain.length) {
            const node = this.lookup(path, i, h);
            if (node >= 0) chain[len++] = node;
          }
        } else if (c >= 128 || PATH_CHAR[c] === 0) return null;
        h = Math.imul(h ^ c, FNV_PRIME);
        prev = c;
      }
      if (prev === SLASH) return null;
      const node = len < chain.length ? this.lookup(path, n, h) : -1;
      if (node >= 0) {
        chain[len++] = node;
        target = true;
      }
    }
    const pools = withPools && secondSlash > 0 && secondSlash < n ? this.memberPools(path, secondSlash) : undefined;
    const out = new Int32Array(R_NODES + len + (pools?.length ?? 0));
    out[R_TARGET] = target ? 1 : 0;
    out[R_COUNT] = len;
    out.set(chain.subarray(0, len), R_NODES);
    if (pools) for (let i = 0; i < pools.length; i++) out[R_NODES + len + i] = pools[i]!;
    return out;
  }

  /** C10: the pools whose roles attach at `/vms/<vmid>` or `/storage/<storeid>` (two-level paths). */
  private memberPools(path: string, slash: number): number[] | undefined {
    if (slash === 4 && path.startsWith('/vms')) {
      const vmid = path.slice(5);
      if (!/^\d+$/.test(vmid)) return undefined;
      const pool = this.vmPool.get(vmid);
      return pool === undefined ? undefined : [this.poolIndex.get(pool)!];
    }
    if (slash === 8 && path.startsWith('/storage')) {
      return this.storagePools.get(path.slice(9))?.map((p) => this.poolIndex.get(p)!);
    }
    return undefined;
  }

  /** Number of pools attached at a resolved path, and the resolved `/pool/<id>` of each. */
  poolCount(at: ResolvedPath): number {
    return at.length - R_NODES - at[R_COUNT]!;
  }
  poolPath(at: ResolvedPath, i: number): ResolvedPath {
    return this.poolPaths[at[R_NODES + at[R_COUNT]! + i]!]!;
  }

  /**
   * C2–C6 for one walker over a resolved path: writes the deciding privilege set (granted words,
   * then propagate words) to `out` and returns GRANTED, NO_ACCESS (out zeroed) or NONE (out zeroed).
   */
  walk(wk: Walker, at: ResolvedPath, out: Uint32Array): number {
    const nodeData = this.nodeData;
    const cls = wk.asToken ? CLASS_TOKEN : CLASS_USER;
    const member = wk.member;
    const filter = wk.filter;
    const filterMask = wk.filterMask;
    const last = R_NODES + at[R_COUNT]! - 1;
    for (let k = last; k >= R_NODES; k--) {
      const node = at[k]!;
      const bit = node & filterMask;
      if ((filter[bit >>> 5]! & (1 << (bit & 31))) === 0) continue;
      const rec = node * NODE_STRIDE;
      const isTarget = k === last && at[R_TARGET] === 1;
      if (member >= 0) {
        const s = this.slotOf(rec, cls, member);
        if (s >= 0) {
          const base = s * this.slotStride;
          const f = this.slotData[base]!;
          if (isTarget) return this.emit(base + 1, base + 1 + this.words, (f & F_TARGET_NA) !== 0, out);
          if ((f & F_ANC) !== 0) {
            const anc = base + 1 + 2 * this.words;
            return this.emit(anc, anc, (f & F_ANC_NA) !== 0, out);
          }
        }
      }
      if (wk.groups.length > 0 && nodeData[rec + N_START + CLASS_GROUP]! < nodeData[rec + N_START + CLASS_TOKEN]!) {
        const r = this.unionGroups(rec, wk.groups, isTarget, out);
        if (r !== NONE) return r;
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = 0;
    return NONE;
  }

  /** The slot of `member` in class `cls` at the node record `rec`, or -1. */
  private slotOf(rec: number, cls: number, member: number): number {
    const nodeData = this.nodeData;
    let lo = nodeData[rec + N_START + cls]!;
    let hi = nodeData[rec + N_START + cls + 1]!;
    if (lo === hi) return -1;
    const info = nodeData[rec + N_FILTER + cls]!;
    if (info !== 0) {
      const bit = member & ((1 << (info & 31)) - 1);
      if ((this.filters[(info >>> 5) + (bit >>> 5)]! & (1 << (bit & 31))) === 0) return -1;
    }
    const ids = this.slotMember;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = ids[mid]!;
      if (m === member) return mid;
      if (m < member) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  /** C3c/C6: the union of the walker's groups at one node; NoAccess in any of them collapses it. */
  private unionGroups(rec: number, groups: Int32Array, isTarget: boolean, out: Uint32Array): number {
    const w = this.words;
    const data = this.slotData;
    const acc = this.groupAcc;
    let found = false;
    let noAccess = false;
    for (let g = 0; g < groups.length; g++) {
      const s = this.slotOf(rec, CLASS_GROUP, groups[g]!);
      if (s < 0) continue;
      const base = s * this.slotStride;
      const f = data[base]!;
      if (!isTarget && (f & F_ANC) === 0) continue;
      const grantedAt = isTarget ? base + 1 : base + 1 + 2 * w;
      const propAt = isTarget ? base + 1 + w : grantedAt;
      if (!found) for (let i = 0; i < acc.length; i++) acc[i] = 0;
      found = true;
      for (let i = 0; i < w; i++) {
        acc[i] = acc[i]! | data[grantedAt + i]!;
        acc[w + i] = acc[w + i]! | data[propAt + i]!;
      }
      if ((f & (isTarget ? F_TARGET_NA : F_ANC_NA)) !== 0) noAccess = true;
    }
    if (!found) return NONE;
    if (noAccess) {
      for (let i = 0; i < out.length; i++) out[i] = 0;
      return NO_ACCESS;
    }
    for (let i = 0; i < 2 * w; i++) out[i] = acc[i]!;
    return GRANTED;
  }

  private emit(grantedAt: number, propAt: number, noAccess: boolean, out: Uint32Array): number {
    const w = this.words;
    if (noAccess) {
      for (let i = 0; i < out.length; i++) out[i] = 0;
      return NO_ACCESS;
    }
    const data = this.slotData;
    for (let i = 0; i < w; i++) {
      out[i] = data[grantedAt + i]!;
      out[w + i] = data[propAt + i]!;
    }
    return GRANTED;
  }
}

/** Sorts order[lo, hi) by `before`: insertion sort for the usual few entries of one node. */
function sortRange(order: Int32Array, lo: number, hi: number, before: (a: number, b: number) => boolean): void {
  if (hi - lo > 32) {
    const part = Array.from(order.subarray(lo, hi)).sort((a, b) => (before(a, b) ? -1 : 1));
    order.set(part, lo);
    return;
  }
  for (let i = lo + 1; i < hi; i++) {
    const v = order[i]!;
    let j = i - 1;
    while (j >= lo && before(v, order[j]!)) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = v;
  }
}

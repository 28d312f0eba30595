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
// in preallocated Uint32Array scratch sets. What a check needs about a subject (its walkers) and
// about a path (its nodes and pools) is packed into flat Int32Array records, memoised per subject
// string and per path string (bounded), so a check touches few cache lines; nothing is cached per
// (subject, path).
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
  /** Every privilege, granted and propagating (root@pam's result). */
  readonly allBits: Uint32Array;
}

/** What a check needs to know about a subject, from the model's parsing of its id (C1, C8, C12, C13). */
export const S_ROOT = 0; // every privilege
export const S_USER = 1; // the user walk
export const S_NOTHING = 2; // invalid ids, undefined tokens
export const S_SHARED_TOKEN = 3; // privsep=0: the owner's user walk
export const S_PRIVSEP_TOKEN = 4; // the token's walk ∩ the owner's user walk
export const S_ROOT_PRIVSEP_TOKEN = 5; // a privsep token of root@pam: the token's walk only

export interface CheckSubject {
  readonly kind: number;
  /** The user whose user and group entries count (the user, or a token's owner). */
  readonly userid: string;
  /** The groups of `userid`. */
  readonly groups: readonly string[];
  /** For privsep tokens: the token id. */
  readonly tokenid?: string;
}

// Subject records in `sdata`: [kind, user walker offset, token walker offset], then the walkers.
// A walker: [member id (-1: none), member class (user or token), groupCount, filterMask, group ids
// (sorted)…, filter words…]. The filter is a bitset over node ids (`node & filterMask`) of the
// nodes where the member or one of its groups has entries, 8 bits per such node (at least 32),
// exact once that reaches the node count: a walk skips every other node with one load.
const W_MEMBER = 0;
const W_CLASS = 1;
const W_GROUPS = 2;
const W_MASK = 3;
const W_HEADER = 4;

// Path records in `pdata`: [lastIsTarget (0/1), node count, pool count, ACL node ids root first…,
// offsets of the pools' `/pool/<id>` records…]. Pools only at `/vms/<id>` and `/storage/<id>`.
const P_TARGET = 0;
const P_NODES = 1;
const P_POOLS = 2;
const P_HEADER = 3;

const MAX_MEMO = 1 << 16;

// Node records: NODE_STRIDE ints per node in one array, so a walk step touches one cache line.
const N_START = 0; // + class: first slot of the class; N_START + 3 = end of the node's slots
const N_FILTER = 4; // + class: member filter of the class, (word offset << 5) | log2(bits); 0 = none
const NODE_STRIDE = 8;

export class AclIndex {
  readonly words: number;
  /** Interned ACL paths by node id. */
  readonly nodePaths: readonly string[];
  /** Per pool (index into poolIds): offset of its `/pool/<id>` record in pdata. */
  private readonly poolRecords: number[];
  private readonly poolIndex: Map<string, number>;
  /** Subject string → record offset in sdata; path string → record offset in pdata (bounded). */
  private readonly subjects = new Map<string, number>();
  private readonly paths = new Map<string, number>();
  private sdata = new Int32Array(1024);
  private sTop = 0;
  private pdata = new Int32Array(1024);
  private pTop = 0;
  /** pdata below this offset holds the pool records of compile(). */
  private readonly pBase: number;
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

  // Scratch sets (granted words, then propagate words). Checks are synchronous, so one set each.
  private readonly chain: Int32Array;
  private readonly groupAcc: Uint32Array;
  private readonly resultBuf: Uint32Array;
  private readonly ownerBuf: Uint32Array;
  private readonly poolBuf: Uint32Array;
  private readonly emptyBits: Uint32Array;
  private readonly allBits: Uint32Array;

  constructor(input: AclIndexInput) {
    const w = (this.words = input.words);
    const { entries, entryRoles, roleBits, roleNoAccess } = input;
    this.resultBuf = new Uint32Array(2 * w);
    this.ownerBuf = new Uint32Array(2 * w);
    this.poolBuf = new Uint32Array(2 * w);
    this.emptyBits = new Uint32Array(2 * w);
    this.allBits = input.allBits;
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
    const ePropagate = new Uint8Array(n);
    let lastPath = '';
    let lastNode = -1;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      ePropagate[i] = e.propagate ? 1 : 0;
      // One `acl:` line expands to entries sharing its path: skip the map for those.
      let node = e.path === lastPath ? lastNode : nodeOf.get(e.path);
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
      lastPath = e.path;
      lastNode = node;
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
          const propagate = ePropagate[i] === 1;
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
    this.poolRecords = input.poolIds.map((pool) => this.storePath(`/pool/${pool}`, false));
    this.pBase = this.pTop;
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

  /** The check record of `subject`, if memoised (see addSubject). */
  subjectRecord(subject: string): number | undefined {
    return this.subjects.get(subject);
  }

  /** Memoises the check record of `subject`. */
  addSubject(subject: string, cs: CheckSubject): number {
    if (this.subjects.size >= MAX_MEMO) {
      this.subjects.clear();
      this.sTop = 0;
    }
    const at = this.sTop;
    this.reserveS(3);
    this.sTop += 3;
    const hasUser = cs.kind === S_USER || cs.kind === S_SHARED_TOKEN || cs.kind === S_PRIVSEP_TOKEN;
    const hasToken = cs.kind === S_PRIVSEP_TOKEN || cs.kind === S_ROOT_PRIVSEP_TOKEN;
    const userWalker = hasUser ? this.appendWalker(cs.userid, cs.groups, false) : -1;
    const tokenWalker = hasToken ? this.appendWalker(cs.tokenid!, [], true) : -1;
    this.sdata[at] = cs.kind;
    this.sdata[at + 1] = userWalker;
    this.sdata[at + 2] = tokenWalker;
    this.subjects.set(subject, at);
    return at;
  }

  private reserveS(n: number): void {
    if (this.sTop + n <= this.sdata.length) return;
    const next = new Int32Array(Math.max(2 * this.sdata.length, this.sTop + n));
    next.set(this.sdata.subarray(0, this.sTop));
    this.sdata = next;
  }

  private reserveP(n: number): void {
    if (this.pTop + n <= this.pdata.length) return;
    const next = new Int32Array(Math.max(2 * this.pdata.length, this.pTop + n));
    next.set(this.pdata.subarray(0, this.pTop));
    this.pdata = next;
  }

  /** Appends the walker of a user (with its groups) or of a privsep token's own entries. */
  private appendWalker(id: string, groups: readonly string[], asToken: boolean): number {
    const cls = asToken ? CLASS_TOKEN : CLASS_USER;
    const member = this.memberIds[cls].get(id) ?? -1;
    const ids = new Set<number>();
    for (const gid of groups) {
      const g = this.memberIds[CLASS_GROUP].get(gid);
      if (g !== undefined) ids.add(g);
    }
    const sources: [number, number][] = [];
    if (member >= 0) sources.push([cls, member]);
    for (const g of ids) sources.push([CLASS_GROUP, g]);
    let count = 0;
    for (const [c, m] of sources) count += this.memberNodeStart[c]![m + 1]! - this.memberNodeStart[c]![m]!;
    const bits = Math.max(5, Math.ceil(Math.log2(Math.max(1, Math.min(8 * count, this.nodePaths.length)))));
    const words = count === 0 ? 1 : 1 << (bits - 5);
    const mask = count === 0 ? 0 : (1 << bits) - 1;
    const at = this.sTop;
    this.reserveS(W_HEADER + ids.size + words);
    const d = this.sdata;
    d[at + W_MEMBER] = member;
    d[at + W_CLASS] = cls;
    d[at + W_GROUPS] = ids.size;
    d[at + W_MASK] = mask;
    d.set(Int32Array.from(ids).sort(), at + W_HEADER);
    const filter = at + W_HEADER + ids.size;
    d.fill(0, filter, filter + words);
    for (const [c, m] of sources) {
      const list = this.memberNodes[c]!;
      for (let i = this.memberNodeStart[c]![m]!; i < this.memberNodeStart[c]![m + 1]!; i++) {
        const bit = list[i]! & mask;
        d[filter + (bit >>> 5)]! |= 1 << (bit & 31);
      }
    }
    this.sTop = filter + words;
    return at;
  }

  /** The check record of a path string, if memoised (see addPath). */
  pathRecord(raw: string): number | undefined {
    return this.paths.get(raw);
  }

  /**
   * Memoises the check record of `raw` (a check path as given), resolving `normalized` (its B5
   * form; `raw` itself when it is normal already).
   */
  addPath(raw: string, normalized: string): number {
    if (this.paths.size >= MAX_MEMO) {
      this.paths.clear();
      this.pTop = this.pBase;
    }
    const at = this.storePath(normalized, true);
    this.paths.set(raw, at);
    return at;
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
   * Stores the record of a normalised path: its prefixes are walked character by character (no
   * splitting) and looked up in the table of ACL paths. An invalid pool id (not a normal path)
   * carries no ACLs: its record is empty.
   */
  private storePath(path: string, withPools: boolean): number {
    const chain = this.chain;
    let len = 0;
    let target = false;
    let secondSlash = -1;
    if (isNormalizedPath(path)) {
      const n = path.length;
      if (this.rootNode >= 0) chain[len++] = this.rootNode;
      target = n === 1 && len > 0;
      let h = Math.imul(FNV_OFFSET ^ SLASH, FNV_PRIME);
      for (let i = 1; i < n; i++) {
        const c = path.charCodeAt(i);
        if (c === SLASH) {
          secondSlash = secondSlash < 0 ? i : n; // n: deeper than two levels
          if (len < chain.length) {
            const node = this.lookup(path, i, h);
            if (node >= 0) chain[len++] = node;
          }
        }
        h = Math.imul(h ^ c, FNV_PRIME);
      }
      const node = n > 1 && len < chain.length ? this.lookup(path, n, h) : -1;
      if (node >= 0) {
        chain[len++] = node;
        target = true;
      }
    }
    const pools =
      withPools && secondSlash > 0 && secondSlash < path.length ? this.memberPools(path, secondSlash) : undefined;
    const count = pools?.length ?? 0;
    const at = this.pTop;
    this.reserveP(P_HEADER + len + count);
    const d = this.pdata;
    d[at + P_TARGET] = target ? 1 : 0;
    d[at + P_NODES] = len;
    d[at + P_POOLS] = count;
    d.set(chain.subarray(0, len), at + P_HEADER);
    for (let i = 0; i < count; i++) d[at + P_HEADER + len + i] = this.poolRecords[pools![i]!]!;
    this.pTop = at + P_HEADER + len + count;
    return at;
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

  /**
   * Effective privilege bits of a subject record on a path record (C9–C13): words [0, w) granted,
   * [w, 2w) propagate flags. The result is a shared scratch set or a constant: read it before the
   * next check.
   */
  check(subject: number, path: number): Uint32Array {
    const d = this.sdata;
    switch (d[subject]) {
      case S_ROOT:
        return this.allBits;
      case S_USER:
      case S_SHARED_TOKEN: // C13: exactly the owner
        this.subjectBits(d[subject + 1]!, path, this.resultBuf);
        return this.resultBuf;
      case S_PRIVSEP_TOKEN: {
        const own = this.resultBuf;
        const owner = this.ownerBuf;
        this.subjectBits(d[subject + 2]!, path, own);
        this.subjectBits(d[subject + 1]!, path, owner);
        for (let i = 0; i < own.length; i++) own[i] = own[i]! & owner[i]!; // C12: both, flags ANDed
        return own;
      }
      case S_ROOT_PRIVSEP_TOKEN: // C12: root has everything, so only the token's own ACLs count
        this.subjectBits(d[subject + 2]!, path, this.resultBuf);
        return this.resultBuf;
      default:
        return this.emptyBits;
    }
  }

  /** A privsep token's own privileges (before the intersection with its owner), for explain(). */
  tokenOwnBits(subject: number, path: number): Uint32Array {
    this.subjectBits(this.sdata[subject + 2]!, path, this.resultBuf);
    return this.resultBuf;
  }

  /**
   * C9–C11 for one walker: direct roles, then the pool roles at pool member paths (a direct
   * NoAccess stays, a pool NoAccess wins, pool-only privileges get propagate=0).
   */
  private subjectBits(walker: number, path: number, out: Uint32Array): void {
    const direct = this.walk(walker, path, out);
    const pd = this.pdata;
    const pools = pd[path + P_POOLS]!;
    if (pools === 0 || direct === NO_ACCESS) return;
    const w = this.words;
    const tmp = this.poolBuf;
    const first = path + P_HEADER + pd[path + P_NODES]!;
    for (let i = 0; i < pools; i++) {
      const r = this.walk(walker, pd[first + i]!, tmp);
      if (r === NO_ACCESS) {
        for (let k = 0; k < out.length; k++) out[k] = 0;
        return;
      }
      if (r !== NONE) for (let k = 0; k < w; k++) out[k] = out[k]! | tmp[k]!;
    }
  }

  /**
   * C2–C6 for one walker over a path record: writes the deciding privilege set (granted words,
   * then propagate words) to `out` and returns GRANTED, NO_ACCESS (out zeroed) or NONE (out zeroed).
   */
  private walk(walker: number, path: number, out: Uint32Array): number {
    const sd = this.sdata;
    const pd = this.pdata;
    const nodeData = this.nodeData;
    const member = sd[walker + W_MEMBER]!;
    const cls = sd[walker + W_CLASS]!;
    const groupCount = sd[walker + W_GROUPS]!;
    const mask = sd[walker + W_MASK]!;
    const filter = walker + W_HEADER + groupCount;
    const first = path + P_HEADER;
    const last = first + pd[path + P_NODES]! - 1;
    for (let k = last; k >= first; k--) {
      const node = pd[k]!;
      const bit = node & mask;
      if ((sd[filter + (bit >>> 5)]! & (1 << (bit & 31))) === 0) continue;
      const rec = node * NODE_STRIDE;
      const isTarget = k === last && pd[path + P_TARGET] === 1;
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
      if (groupCount > 0 && nodeData[rec + N_START + CLASS_GROUP]! < nodeData[rec + N_START + CLASS_TOKEN]!) {
        const r = this.unionGroups(rec, walker + W_HEADER, groupCount, isTarget, out);
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
  private unionGroups(rec: number, groups: number, count: number, isTarget: boolean, out: Uint32Array): number {
    const w = this.words;
    const data = this.slotData;
    const acc = this.groupAcc;
    let found = false;
    let noAccess = false;
    for (let g = groups; g < groups + count; g++) {
      const s = this.slotOf(rec, CLASS_GROUP, this.sdata[g]!);
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

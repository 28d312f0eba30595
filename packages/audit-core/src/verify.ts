// Chain verification, shared by the database verifier (auditor, CLI) and the offline bundle
// verifier. Records are fed in seq order (streaming: a chain never has to fit in memory).
import type { KeyObject } from 'node:crypto';
import { checkpointSignatureValid, type Checkpoint } from './checkpoint.ts';
import { GENESIS_HASH, payloadDigest, recordHash, type ChainRecord } from './record.ts';

export const FindingCode = {
  /** A record's stored hash is not the hash of its own fields (an edited record). */
  RECORD_HASH_MISMATCH: 'RECORD_HASH_MISMATCH',
  /** A record's payload does not match the digest its hash commits to (an edited payload). */
  PAYLOAD_DIGEST_MISMATCH: 'PAYLOAD_DIGEST_MISMATCH',
  /** A payload is missing although the record was never redacted. */
  PAYLOAD_MISSING: 'PAYLOAD_MISSING',
  /** A record does not link to its predecessor (inserted, reordered or replaced records). */
  PREV_HASH_MISMATCH: 'PREV_HASH_MISMATCH',
  /** Records are missing between two seqs (deleted records). */
  SEQ_GAP: 'SEQ_GAP',
  /** A seq appears twice or goes backwards. */
  SEQ_ORDER: 'SEQ_ORDER',
  /** A checkpoint's signature does not verify (forged or altered checkpoint). */
  CHECKPOINT_SIGNATURE_INVALID: 'CHECKPOINT_SIGNATURE_INVALID',
  /** A checkpoint names a key the verifier does not trust. */
  CHECKPOINT_UNKNOWN_KEY: 'CHECKPOINT_UNKNOWN_KEY',
  /** A checkpoint does not link to the previous one (deleted, reordered or replaced checkpoints). */
  CHECKPOINT_CHAIN_BROKEN: 'CHECKPOINT_CHAIN_BROKEN',
  /** The record at a checkpoint's seq has another hash than the checkpoint signed (rewritten chain). */
  CHECKPOINT_HEAD_MISMATCH: 'CHECKPOINT_HEAD_MISMATCH',
  /** A signed checkpoint lies beyond the last record (records truncated before the last checkpoint). */
  CHAIN_TRUNCATED: 'CHAIN_TRUNCATED',
  /** The chain head stored beside the chain disagrees with its last record. */
  HEAD_MISMATCH: 'HEAD_MISMATCH',
  /** A chain that does not start at seq 1 has no checkpoint to anchor its first record. */
  ANCHOR_MISSING: 'ANCHOR_MISSING',
} as const;
export type FindingCode = (typeof FindingCode)[keyof typeof FindingCode];

export interface Finding {
  code: FindingCode;
  seq: number | null;
  message: string;
}

export interface VerificationReport {
  chainId: string;
  tenantId: string | null;
  ok: boolean;
  recordsChecked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  redactedRecords: number;
  checkpointsChecked: number;
  /** Highest seq covered by a valid signed checkpoint; records after it are not yet anchored. */
  coveredThroughSeq: number | null;
  keyIds: string[];
  findings: Finding[];
  /** True when more findings existed than were kept. */
  findingsTruncated: boolean;
}

export interface ChainVerifierOptions {
  chainId: string;
  tenantId: string | null;
  /** Trusted public keys by key id. */
  publicKeys: ReadonlyMap<string, KeyObject>;
  /** Every checkpoint of the range, any order. */
  checkpoints: readonly Checkpoint[];
  /** The seq the first record must have (1, or the first seq after a pruned range). */
  startSeq: number;
  /**
   * True when `checkpoints` are all the chain's checkpoints (database verification): the first must
   * then have no predecessor. A bundle holds only the checkpoints covering its range.
   */
  checkpointsFromGenesis: boolean;
  /** The head recorded beside the chain (audit_chain), compared with the last record. */
  expectedHead?: { seq: number; hash: string } | undefined;
  /**
   * Incremental verification: a checkpoint verified by an earlier run. Records start right after it
   * (`startSeq` = anchor.seq + 1) and link to its head hash; the first checkpoint given links to its
   * signature. `checkpoints` then hold only those after the anchor.
   */
  anchor?: CheckpointAnchor | undefined;
  maxFindings?: number;
}

export interface CheckpointAnchor {
  seq: number;
  /** Hex. */
  headHash: string;
  /** Base64. */
  signature: string;
}

export interface AddOptions {
  /** The payload was left out on purpose (bundle context records): skip the digest check. */
  payloadOmitted?: boolean;
}

export class ChainVerifier {
  readonly #o: ChainVerifierOptions;
  readonly #cpBySeq = new Map<number, Checkpoint>();
  readonly #findings: Finding[] = [];
  #truncated = false;
  #expectedSeq: number;
  #prevHash: string | null;
  #count = 0;
  #redacted = 0;
  #firstSeq: number | null = null;
  #lastSeq: number | null = null;
  #lastHash: string | null = null;

  constructor(options: ChainVerifierOptions) {
    this.#o = options;
    for (const cp of options.checkpoints) this.#cpBySeq.set(cp.seq, cp);
    this.#expectedSeq = options.startSeq;
    if (options.anchor) {
      if (options.anchor.seq !== options.startSeq - 1) throw new Error('anchor.seq must be startSeq - 1');
      this.#prevHash = options.anchor.headHash;
    } else if (options.startSeq <= 1) this.#prevHash = GENESIS_HASH.toString('hex');
    else {
      const anchor = this.#cpBySeq.get(options.startSeq - 1);
      this.#prevHash = anchor?.headHash ?? null;
      if (!anchor)
        this.#find(
          'ANCHOR_MISSING',
          options.startSeq,
          `no checkpoint at seq ${options.startSeq - 1} anchors the first record`,
        );
    }
  }

  #find(code: FindingCode, seq: number | null, message: string): void {
    if (this.#findings.length >= (this.#o.maxFindings ?? 1000)) {
      this.#truncated = true;
      return;
    }
    this.#findings.push({ code, seq, message });
  }

  /** Feeds the next record, in ascending seq order. */
  add(record: ChainRecord, options: AddOptions = {}): void {
    const seq = record.seq;
    this.#count++;
    this.#firstSeq ??= seq;
    let linked = true;
    if (seq > this.#expectedSeq) {
      this.#find('SEQ_GAP', seq, `records ${this.#expectedSeq}..${seq - 1} are missing`);
      linked = false;
    } else if (seq < this.#expectedSeq) {
      this.#find('SEQ_ORDER', seq, `seq ${seq} follows seq ${this.#expectedSeq - 1}`);
      linked = false;
    }
    if (record.chainId !== this.#o.chainId) {
      this.#find('RECORD_HASH_MISMATCH', seq, `record belongs to chain ${record.chainId}, not ${this.#o.chainId}`);
    }
    if (record.payload !== null) {
      if (payloadDigest(record.payload).toString('hex') !== record.payloadDigest) {
        this.#find('PAYLOAD_DIGEST_MISMATCH', seq, 'payload does not match payload_digest');
      }
    } else if (record.redactedAt !== null) {
      this.#redacted++;
    } else if (!options.payloadOmitted) {
      this.#find('PAYLOAD_MISSING', seq, 'payload is missing but the record was never redacted');
    }
    let computed: string;
    try {
      computed = recordHash(Buffer.from(record.prevHash, 'hex'), record).toString('hex');
    } catch (err) {
      computed = `invalid: ${(err as Error).message}`;
    }
    if (computed !== record.recordHash)
      this.#find('RECORD_HASH_MISMATCH', seq, 'record_hash is not the hash of the record');
    if (linked && this.#prevHash !== null && record.prevHash !== this.#prevHash) {
      this.#find('PREV_HASH_MISMATCH', seq, 'prev_hash does not match the previous record');
    }
    const cp = this.#cpBySeq.get(seq);
    if (cp && cp.headHash !== record.recordHash) {
      this.#find('CHECKPOINT_HEAD_MISMATCH', seq, `checkpoint at seq ${seq} signed another head hash`);
    }
    this.#prevHash = record.recordHash;
    this.#expectedSeq = Math.max(this.#expectedSeq, seq + 1);
    this.#lastSeq = seq;
    this.#lastHash = record.recordHash;
  }

  finish(): VerificationReport {
    const o = this.#o;
    const cps = [...o.checkpoints].sort((a, b) => a.seq - b.seq);
    const keyIds = new Set<string>();
    let covered: number | null = null;
    cps.forEach((cp, i) => {
      keyIds.add(cp.keyId);
      let valid = true;
      if (cp.chainId !== o.chainId || cp.tenantId !== o.tenantId) {
        this.#find('CHECKPOINT_SIGNATURE_INVALID', cp.seq, `checkpoint names chain ${cp.chainId}`);
        valid = false;
      }
      const key = o.publicKeys.get(cp.keyId);
      if (!key) {
        this.#find('CHECKPOINT_UNKNOWN_KEY', cp.seq, `checkpoint signed by untrusted key ${cp.keyId}`);
        valid = false;
      } else if (!checkpointSignatureValid(cp, key)) {
        this.#find('CHECKPOINT_SIGNATURE_INVALID', cp.seq, `checkpoint signature at seq ${cp.seq} does not verify`);
        valid = false;
      }
      const prev = cps[i - 1];
      if (prev) {
        if (cp.prevSignature !== prev.signature) {
          this.#find(
            'CHECKPOINT_CHAIN_BROKEN',
            cp.seq,
            `checkpoint at seq ${cp.seq} does not link to the one at seq ${prev.seq}`,
          );
          valid = false;
        }
      } else if (o.anchor) {
        if (cp.prevSignature !== o.anchor.signature) {
          this.#find(
            'CHECKPOINT_CHAIN_BROKEN',
            cp.seq,
            `checkpoint at seq ${cp.seq} does not link to the verified one at seq ${o.anchor.seq}`,
          );
          valid = false;
        }
      } else if (o.checkpointsFromGenesis && cp.prevSignature !== null) {
        this.#find(
          'CHECKPOINT_CHAIN_BROKEN',
          cp.seq,
          `first checkpoint (seq ${cp.seq}) links to a checkpoint that is gone`,
        );
        valid = false;
      }
      if (this.#lastSeq === null ? cp.seq >= o.startSeq : cp.seq > this.#lastSeq) {
        this.#find(
          'CHAIN_TRUNCATED',
          cp.seq,
          `checkpoint at seq ${cp.seq} lies beyond the last record (${this.#lastSeq ?? 'none'})`,
        );
        valid = false;
      }
      if (valid && (this.#lastSeq === null || cp.seq <= this.#lastSeq)) covered = cp.seq;
    });
    const head = o.expectedHead;
    const lastHash = this.#lastHash ?? o.anchor?.headHash ?? null;
    if (head && (head.seq !== (this.#lastSeq ?? o.startSeq - 1) || (lastHash !== null && head.hash !== lastHash))) {
      this.#find(
        'HEAD_MISMATCH',
        head.seq,
        `chain head says seq ${head.seq}, last record is ${this.#lastSeq ?? 'none'}`,
      );
    }
    return {
      chainId: o.chainId,
      tenantId: o.tenantId,
      ok: this.#findings.length === 0 && !this.#truncated,
      recordsChecked: this.#count,
      firstSeq: this.#firstSeq,
      lastSeq: this.#lastSeq,
      redactedRecords: this.#redacted,
      checkpointsChecked: cps.length,
      coveredThroughSeq: covered,
      keyIds: [...keyIds].sort(),
      findings: [...this.#findings],
      findingsTruncated: this.#truncated,
    };
  }
}

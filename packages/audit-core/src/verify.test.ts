import { describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { ChainVerifier, type VerificationReport } from './verify.ts';
import { loadPublicKey, loadSigningKey, signCheckpoint, type Checkpoint, type SigningKey } from './checkpoint.ts';
import { canonicalCore, payloadDigest, recordCoreOf, recordHash, type ChainRecord } from './record.ts';
import { canonicalJson } from './canonical.ts';
import { buildChain, checkpointsFor, testKey } from './test-chain.ts';

function verify(
  records: ChainRecord[],
  checkpoints: Checkpoint[],
  key: SigningKey,
  extra: { startSeq?: number; head?: { seq: number; hash: string } } = {},
): VerificationReport {
  const first = records[0]!;
  const v = new ChainVerifier({
    chainId: first.chainId,
    tenantId: first.tenantId,
    publicKeys: new Map([[key.keyId, key.publicKey]]),
    checkpoints,
    startSeq: extra.startSeq ?? 1,
    checkpointsFromGenesis: true,
    expectedHead: extra.head,
  });
  for (const r of records) v.add(r);
  return v.finish();
}
const codes = (r: VerificationReport) => [...new Set(r.findings.map((f) => f.code))].sort();

describe('ChainVerifier', () => {
  const key = testKey();
  const chain = buildChain(10);
  const cps = checkpointsFor(chain, key, [4, 8]);

  it('accepts an intact chain and reports coverage', () => {
    const r = verify(chain, cps, key, { head: { seq: 10, hash: chain[9]!.recordHash } });
    expect(r.findings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.coveredThroughSeq).toBe(8);
    expect(r.recordsChecked).toBe(10);
  });

  it('detects an edited field', () => {
    const edited = chain.map((r) => (r.seq === 3 ? { ...r, actorId: 'mallory@pve' } : r));
    expect(codes(verify(edited, cps, key))).toEqual(['RECORD_HASH_MISMATCH']);
  });

  it('detects an edited payload', () => {
    const edited = chain.map((r) => (r.seq === 3 ? { ...r, payload: { n: 3, note: 'changed' } } : r));
    expect(codes(verify(edited, cps, key))).toEqual(['PAYLOAD_DIGEST_MISMATCH']);
  });

  it('detects an edited record whose hash was recomputed, through the next link', () => {
    const edited = chain.map((r) => {
      if (r.seq !== 5) return r;
      const changed = { ...r, action: 'task.qmstop' };
      return { ...changed, recordHash: recordHash(Buffer.from(r.prevHash, 'hex'), changed).toString('hex') };
    });
    expect(codes(verify(edited, cps, key))).toEqual(['PREV_HASH_MISMATCH']);
  });

  it('detects a rewritten tail through the checkpoint head', () => {
    const rewritten: ChainRecord[] = [];
    for (const r of chain) {
      const prev = rewritten.at(-1);
      let next = r.seq === 6 ? { ...r, outcome: 'failure' as const } : { ...r };
      if (prev) next = { ...next, prevHash: prev.recordHash };
      next.recordHash = recordHash(Buffer.from(next.prevHash, 'hex'), next).toString('hex');
      rewritten.push(next);
    }
    expect(codes(verify(rewritten, cps, key))).toEqual(['CHECKPOINT_HEAD_MISMATCH']);
  });

  it('detects a deleted record', () => {
    expect(
      codes(
        verify(
          chain.filter((r) => r.seq !== 6),
          cps,
          key,
        ),
      ),
    ).toEqual(['SEQ_GAP']);
  });

  it('detects reordered records', () => {
    const swapped = chain.map((r) =>
      r.seq === 2 ? { ...chain[2]!, seq: 2 } : r.seq === 3 ? { ...chain[1]!, seq: 3 } : r,
    );
    expect(codes(verify(swapped, cps, key))).toContain('RECORD_HASH_MISMATCH');
  });

  it('detects an inserted record', () => {
    const forged = { ...chain[4]!, dedupKey: 'forged' };
    const inserted = [
      ...chain.slice(0, 5),
      { ...forged, seq: 6, prevHash: chain[4]!.recordHash },
      ...chain.slice(5).map((r) => ({ ...r, seq: r.seq + 1 })),
    ];
    const r = verify(inserted, cps, key);
    expect(r.ok).toBe(false);
    expect(codes(r)).toContain('RECORD_HASH_MISMATCH');
  });

  it('detects truncation before the last checkpoint', () => {
    expect(codes(verify(chain.slice(0, 6), cps, key))).toEqual(['CHAIN_TRUNCATED']);
  });

  it('detects a forged checkpoint signature and a foreign key', () => {
    const forged = cps.map((c, i) => (i === 1 ? { ...c, headHash: chain[8]!.recordHash } : c));
    expect(codes(verify(chain, forged, key))).toContain('CHECKPOINT_SIGNATURE_INVALID');
    const other = testKey();
    const foreign = checkpointsFor(chain, other, [4, 8]);
    expect(codes(verify(chain, foreign, key))).toEqual(['CHECKPOINT_UNKNOWN_KEY']);
  });

  it('detects a broken checkpoint chain (a deleted checkpoint)', () => {
    const three = checkpointsFor(chain, key, [3, 6, 9]);
    expect(codes(verify(chain, [three[0]!, three[2]!], key))).toEqual(['CHECKPOINT_CHAIN_BROKEN']);
    expect(codes(verify(chain, [three[1]!, three[2]!], key))).toEqual(['CHECKPOINT_CHAIN_BROKEN']);
  });

  it('detects a head that disagrees with the last record', () => {
    expect(codes(verify(chain, cps, key, { head: { seq: 11, hash: 'ff' } }))).toEqual(['HEAD_MISMATCH']);
  });

  it('accepts a redacted payload and flags a missing one', () => {
    const redacted = chain.map((r) => (r.seq === 2 ? { ...r, payload: null, redactedAt: r.recordedAt } : r));
    const ok = verify(redacted, cps, key);
    expect(ok.ok).toBe(true);
    expect(ok.redactedRecords).toBe(1);
    const missing = chain.map((r) => (r.seq === 2 ? { ...r, payload: null } : r));
    expect(codes(verify(missing, cps, key))).toEqual(['PAYLOAD_MISSING']);
  });

  it('anchors a pruned chain on the checkpoint before its first record', () => {
    expect(verify(chain.slice(4), cps, key, { startSeq: 5 }).ok).toBe(true);
    expect(codes(verify(chain.slice(3), cps, key, { startSeq: 4 }))).toEqual(['ANCHOR_MISSING']);
  });
});

describe('ChainVerifier: incremental from a verified checkpoint (anchor)', () => {
  const key = testKey();
  const chain = buildChain(12);
  const cps = checkpointsFor(chain, key, [4, 8, 12]);
  const anchorOf = (cp: Checkpoint) => ({ seq: cp.seq, headHash: cp.headHash, signature: cp.signature });
  function resume(records: ChainRecord[], anchor: Checkpoint, later: Checkpoint[], headSeq = 12): VerificationReport {
    const v = new ChainVerifier({
      chainId: chain[0]!.chainId,
      tenantId: chain[0]!.tenantId,
      publicKeys: new Map([[key.keyId, key.publicKey]]),
      checkpoints: later,
      startSeq: anchor.seq + 1,
      checkpointsFromGenesis: false,
      anchor: anchorOf(anchor),
      expectedHead: { seq: headSeq, hash: chain[headSeq - 1]!.recordHash },
    });
    for (const r of records) v.add(r);
    return v.finish();
  }

  it('checks only the records after the anchor and links them to its hash', () => {
    const r = resume(chain.slice(4), cps[0]!, cps.slice(1));
    expect(r.findings).toEqual([]);
    expect(r.recordsChecked).toBe(8);
    expect(r.coveredThroughSeq).toBe(12);
  });

  it('accepts no new records when the head is the anchor', () => {
    expect(resume([], cps[2]!, [], 12).ok).toBe(true);
  });

  it('detects a record after the anchor that does not link to it, and a checkpoint that does not', () => {
    const wrongHash = { ...cps[0]!, headHash: chain[2]!.recordHash };
    expect(codes(resume(chain.slice(4), wrongHash, cps.slice(1)))).toEqual(['PREV_HASH_MISMATCH']);
    const wrongSignature = { ...cps[0]!, signature: cps[1]!.signature };
    expect(codes(resume(chain.slice(4), wrongSignature, cps.slice(1)))).toEqual(['CHECKPOINT_CHAIN_BROKEN']);
  });

  it('detects a head behind the anchor', () => {
    expect(codes(resume([], cps[2]!, [], 11))).toEqual(['HEAD_MISMATCH']);
  });
});

describe('keys', () => {
  it('loads PKCS8 PEM and base64 DER private keys and SPKI public keys', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const der = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    const a = loadSigningKey(pem);
    const b = loadSigningKey(der);
    expect(a.keyId).toBe(b.keyId);
    expect(loadPublicKey(publicKey.export({ type: 'spki', format: 'pem' }).toString()).equals(a.publicKey)).toBe(true);
    expect(loadPublicKey(pem).equals(a.publicKey)).toBe(true);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => loadSigningKey(rsa)).toThrow(/Ed25519/);
  });

  it('signs the previous signature into each checkpoint', () => {
    const key = testKey();
    const cp = signCheckpoint(key, {
      chainId: 'c',
      tenantId: null,
      seq: 1,
      headHash: 'aa',
      createdAt: '2026-01-01T00:00:00.000Z',
      prevSignature: null,
    });
    expect(cp.keyId).toBe(key.keyId);
    const relinked = { ...cp, prevSignature: 'AAAA' };
    const v = new ChainVerifier({
      chainId: 'c',
      tenantId: null,
      publicKeys: new Map([[key.keyId, key.publicKey]]),
      checkpoints: [relinked],
      startSeq: 1,
      checkpointsFromGenesis: false,
    });
    expect(v.finish().findings.map((f) => f.code)).toContain('CHECKPOINT_SIGNATURE_INVALID');
  });

  it('serialises the record core exactly like the general RFC 8785 implementation', () => {
    const [r] = buildChain(1);
    const tricky = { ...r!, targetName: 'é "q" \\ \n \u2028 😀', actorId: null, seq: 9007199254740991 };
    for (const core of [r!, tricky]) expect(canonicalCore(core)).toBe(canonicalJson(recordCoreOf(core)));
    expect(() => canonicalCore({ ...r!, seq: 1.5 })).toThrow(/safe integer/);
  });

  it('hashes payloads canonically (key order does not matter)', () => {
    expect(payloadDigest({ a: 1, b: [1, 2] }).equals(payloadDigest({ b: [1, 2], a: 1 }))).toBe(true);
    expect(payloadDigest({ a: 1 }).equals(payloadDigest({ a: 2 }))).toBe(false);
  });
});

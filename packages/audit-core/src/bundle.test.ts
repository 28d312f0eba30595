import { describe, expect, it } from 'vitest';
import { createBundle, parseBundle, serializeBundle, verifyBundle, type AuditBundle } from './bundle.ts';
import { recordHash } from './record.ts';
import { buildChain, checkpointsFor, testKey } from './test-chain.ts';

describe('bundles', () => {
  const key = testKey();
  const chain = buildChain(12);
  // Records occur at minute 1..12; select minutes 5..7 → seq 5..7; anchored on cp 4, covered by cp 8.
  chain[5] = { ...chain[5]!, actorId: '', targetName: 'has "quotes", commas\nand newlines' };
  const rebuilt = rehash(chain);
  const cps = checkpointsFor(rebuilt, key, [4, 8, 12]);
  const make = () =>
    createBundle({
      chainId: rebuilt[0]!.chainId,
      tenantId: rebuilt[0]!.tenantId,
      from: '2026-11-01T00:05:00.000Z',
      to: '2026-11-01T00:08:00.000Z',
      exportedAt: '2026-11-02T00:00:00.000Z',
      exportedBy: 'cli',
      records: rebuilt.slice(4, 8),
      checkpoints: cps.slice(0, 2),
      publicKeys: [key.publicKey],
    });

  for (const format of ['jsonl', 'csv'] as const) {
    it(`round-trips and verifies a ${format} bundle offline`, () => {
      const bundle = make();
      expect(bundle.verification?.ok).toBe(true);
      const parsed = parseBundle(serializeBundle(bundle, format));
      expect(parsed.records).toEqual(bundle.records);
      expect(parsed.checkpoints).toEqual(bundle.checkpoints);
      const res = verifyBundle(parsed);
      expect(res.problems).toEqual([]);
      expect(res.chain.findings).toEqual([]);
      expect(res.ok).toBe(true);
      expect(res.keysPinned).toBe(false);
      expect(res.selectedRecords).toBe(3);
      expect(res.uncoveredSelectedRecords).toBe(0);
      expect(verifyBundle(parsed, { trustedKeys: [key.publicKey] }).keysPinned).toBe(true);
    });

    it(`detects an edited record in a ${format} bundle`, () => {
      const text = serializeBundle(make(), format).replace('alice@pve', 'mallory@pve');
      const res = verifyBundle(parseBundle(text));
      expect(res.ok).toBe(false);
      expect(res.chain.findings.map((f) => f.code)).toContain('RECORD_HASH_MISMATCH');
    });
  }

  it('detects a bundle re-signed with another key when the key is pinned', () => {
    const other = testKey();
    const bundle: AuditBundle = { ...make(), checkpoints: checkpointsFor(rebuilt, other, [4, 8]) };
    bundle.header = {
      ...bundle.header,
      publicKeys: [
        { keyId: other.keyId, spki: other.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
      ],
    };
    expect(verifyBundle(bundle).ok).toBe(true);
    const pinned = verifyBundle(bundle, { trustedKeys: [key.publicKey] });
    expect(pinned.ok).toBe(false);
    expect(pinned.chain.findings.map((f) => f.code)).toContain('CHECKPOINT_UNKNOWN_KEY');
  });

  it('detects a removed record and a truncated tail', () => {
    const bundle = make();
    const gap = verifyBundle({ ...bundle, records: bundle.records.filter((r) => r.seq !== 6) });
    expect(gap.chain.findings.map((f) => f.code)).toContain('SEQ_GAP');
    const cut = verifyBundle({ ...bundle, records: bundle.records.slice(0, 2) });
    expect(cut.ok).toBe(false);
    expect(cut.chain.findings.map((f) => f.code)).toContain('CHAIN_TRUNCATED');
  });

  it('detects a context record flipped into the selection', () => {
    const bundle = make();
    const flipped = verifyBundle({
      ...bundle,
      records: bundle.records.map((r) => (r.seq === 5 ? r : r.seq === 8 ? { ...r, inRange: true } : r)),
    });
    expect(flipped.problems.join()).toMatch(/inRange/);
  });

  it('refuses input that is not a bundle', () => {
    expect(() => parseBundle('{"type":"record"}\n')).toThrow(/not a tenantgate audit bundle/);
  });
});

function rehash(records: ReturnType<typeof buildChain>): ReturnType<typeof buildChain> {
  const out: ReturnType<typeof buildChain> = [];
  for (const r of records) {
    const prev = out.at(-1);
    const next = { ...r, prevHash: prev ? prev.recordHash : r.prevHash };
    next.recordHash = recordHash(Buffer.from(next.prevHash, 'hex'), next).toString('hex');
    out.push(next);
  }
  return out;
}

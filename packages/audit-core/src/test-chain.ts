// Builds small valid chains for the unit tests of this package (not exported from the entry).
import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf, signCheckpoint, type Checkpoint, type SigningKey } from './checkpoint.ts';
import { GENESIS_HASH, payloadDigest, recordHash, type ChainRecord, type RecordCore } from './record.ts';

export function testKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { keyId: keyIdOf(publicKey), privateKey, publicKey };
}

export function buildChain(
  n: number,
  opts: { chainId?: string; tenantId?: string | null; start?: Date } = {},
): ChainRecord[] {
  const chainId = opts.chainId ?? '7d0b1c9e-8a51-4d0e-9a3f-3b7f3f0a0001';
  const t0 = (opts.start ?? new Date('2026-11-01T00:00:00.000Z')).getTime();
  const out: ChainRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const payload = { n: seq, note: `event ${seq}` };
    const core: RecordCore = {
      chainId,
      tenantId: opts.tenantId === undefined ? chainId : opts.tenantId,
      seq,
      eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
      dedupKey: `k${seq}`,
      occurredAt: new Date(t0 + seq * 60_000).toISOString(),
      observedAt: new Date(t0 + seq * 60_000 + 500).toISOString(),
      recordedAt: new Date(t0 + seq * 60_000 + 900).toISOString(),
      source: 'pve.task',
      category: 'task',
      action: 'task.qmstart',
      outcome: 'success',
      actorType: 'pve-user',
      actorId: 'alice@pve',
      actorPrincipal: 'alice@pve',
      srcIp: null,
      connectionId: null,
      node: 'pve1',
      targetType: 'guest',
      targetId: '100',
      targetName: null,
      targetPath: '/vms/100',
      upid: null,
      requestId: null,
      detection: 'reported',
      payloadDigest: payloadDigest(payload).toString('hex'),
    };
    const hash = recordHash(prev, core);
    out.push({ ...core, payload, redactedAt: null, prevHash: prev.toString('hex'), recordHash: hash.toString('hex') });
    prev = hash;
  }
  return out;
}

/** Signs a checkpoint at each of `seqs`, linked in order. */
export function checkpointsFor(records: ChainRecord[], key: SigningKey, seqs: number[]): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (const seq of seqs) {
    const r = records.find((x) => x.seq === seq);
    if (!r) throw new Error(`no record ${seq}`);
    out.push(
      signCheckpoint(key, {
        chainId: r.chainId,
        tenantId: r.tenantId,
        seq,
        headHash: r.recordHash,
        createdAt: r.recordedAt,
        prevSignature: out.at(-1)?.signature ?? null,
      }),
    );
  }
  return out;
}

import { readFile, writeFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { Option, type Command } from 'commander';
import {
  describeFindings,
  loadPublicKey,
  parseBundle,
  serializeBundle,
  verifyBundle,
  type BundleFileFormat,
  type VerificationReport,
} from '@tenantgate/audit-core';
import {
  exportBundle,
  poolOf,
  pruneChain,
  redactRecord,
  resolveChainId,
  verifyChains,
  type Db,
} from '@tenantgate/auditor';
import { AppError, createOrm, ErrorCode } from '@tenantgate/shared';

/**
 * `tenantgate audit …` — verify chains (in Postgres, or an exported bundle offline), export a
 * compliance bundle, redact a payload, prune by retention. Verification failures exit non-zero
 * with AUDIT_CHAIN_BROKEN and (database mode) raise AUDIT-001 through the audit inbox.
 */
export function register(program: Command): void {
  const out = (s: string) => (program.configureOutput().writeOut ?? ((x: string) => process.stdout.write(x)))(s);
  const audit = program.command('audit').description('tamper-evident audit trail: verify, export, redact, prune');

  const dbOption = () => new Option('--database-url <url>', 'PostgreSQL URL').env('DATABASE_URL');
  const keyOptions = (cmd: Command) =>
    cmd
      .addOption(
        new Option('--public-key <file>', 'trusted Ed25519 key file (SPKI/PKCS#8 PEM or base64 DER)').env(
          'AUDIT_PUBLIC_KEY_FILE',
        ),
      )
      .addOption(
        new Option('--signing-key <key>', 'the auditor signing key itself; its public half is trusted')
          .env('AUDIT_SIGNING_KEY')
          .hideHelp(),
      );

  keyOptions(
    audit
      .command('verify')
      .description('verify hash chains and signed checkpoints (all chains, one tenant, or a bundle file)')
      .option('--tenant <tenant>', "tenant id or slug, or 'provider'")
      .option('--bundle <file>', 'verify an exported bundle offline (no database access)')
      .option('--json', 'print the reports as JSON')
      .option('--no-alert', 'do not raise AUDIT-001 on failure')
      .addOption(dbOption()),
  ).action(
    async (o: {
      tenant?: string;
      bundle?: string;
      json?: boolean;
      alert: boolean;
      databaseUrl?: string;
      publicKey?: string;
      signingKey?: string;
    }) => {
      const keys = await trustedKeys(o);
      if (o.bundle) {
        const result = verifyBundle(parseBundle(await readFile(o.bundle, 'utf8')), { trustedKeys: keys });
        if (o.json) out(`${JSON.stringify(result, null, 2)}\n`);
        else {
          out(
            `bundle ${o.bundle}: chain ${result.chain.chainId}, seq ${result.chain.firstSeq ?? '-'}..${result.chain.lastSeq ?? '-'}, ` +
              `${result.selectedRecords} selected records, ${result.chain.checkpointsChecked} checkpoints\n`,
          );
          if (!result.keysPinned)
            out(
              'warning: signatures checked against the keys inside the bundle; pass --public-key to pin the operator key\n',
            );
          if (result.uncoveredSelectedRecords > 0)
            out(`warning: ${result.uncoveredSelectedRecords} selected records are after the last signed checkpoint\n`);
          for (const line of [...describeFindings(result.chain.findings), ...result.problems]) out(`  ${line}\n`);
          out(result.ok ? 'OK\n' : 'FAILED\n');
        }
        if (!result.ok) throw new AppError(ErrorCode.AUDIT_CHAIN_BROKEN, `bundle ${o.bundle} failed verification`);
        return;
      }
      if (keys.length === 0)
        throw AppError.badInput('verify needs the trusted key: --public-key FILE (or AUDIT_SIGNING_KEY)');
      await withDb(o.databaseUrl, async (db) => {
        const chainId = o.tenant ? await chainOf(db, o.tenant) : undefined;
        const reports = await verifyChains(db, {
          ...(chainId ? { chainId } : {}),
          publicKeys: keys,
          raiseAlert: o.alert,
          actor: 'cli',
        });
        if (o.json) out(`${JSON.stringify(reports, null, 2)}\n`);
        else for (const r of reports) out(summary(r));
        if (chainId && reports.length === 0) throw AppError.notFound('Audit chain');
        const failed = reports.filter((r) => !r.ok);
        if (failed.length > 0) {
          throw new AppError(
            ErrorCode.AUDIT_CHAIN_BROKEN,
            `${failed.length} audit chain(s) failed verification: ${failed.map((r) => r.chainId).join(', ')}`,
          );
        }
      });
    },
  );

  keyOptions(
    audit
      .command('export')
      .description('export a compliance bundle: records, covering checkpoints and a verification report')
      .requiredOption('--tenant <tenant>', "tenant id or slug, or 'provider'")
      .requiredOption('--from <time>', 'start of the occurred_at range (ISO 8601, inclusive)')
      .requiredOption('--to <time>', 'end of the occurred_at range (ISO 8601, exclusive)')
      .addOption(new Option('--format <format>', 'bundle format').choices(['jsonl', 'csv']).default('jsonl'))
      .requiredOption('--out <file>', 'bundle file to write')
      .addOption(dbOption()),
  ).action(
    async (o: {
      tenant: string;
      from: string;
      to: string;
      format: BundleFileFormat;
      out: string;
      databaseUrl?: string;
      publicKey?: string;
      signingKey?: string;
    }) => {
      const keys = await trustedKeys(o);
      if (keys.length === 0)
        throw AppError.badInput('export needs the signing public key: --public-key FILE (or AUDIT_SIGNING_KEY)');
      const from = parseTime('--from', o.from);
      const to = parseTime('--to', o.to);
      await withDb(o.databaseUrl, async (db) => {
        const bundle = await exportBundle(db, {
          chainId: await chainOf(db, o.tenant),
          from,
          to,
          publicKeys: keys,
          exportedBy: 'cli',
        });
        await writeFile(o.out, serializeBundle(bundle, o.format), { mode: 0o600 });
        const v = bundle.verification;
        out(
          `wrote ${o.out}: ${v?.selectedRecords ?? 0} records (seq ${bundle.header.fromSeq}..${bundle.header.toSeq}), ${bundle.checkpoints.length} checkpoints, verification ${v?.ok ? 'OK' : 'FAILED'}\n`,
        );
        if (v && v.uncoveredSelectedRecords > 0)
          out(`warning: ${v.uncoveredSelectedRecords} records are not yet covered by a signed checkpoint\n`);
        if (!v?.ok)
          throw new AppError(
            ErrorCode.AUDIT_CHAIN_BROKEN,
            'the exported range failed verification (bundle written for inspection)',
          );
      });
    },
  );

  audit
    .command('redact')
    .description("remove one record's payload (its digest keeps the chain intact); audited")
    .requiredOption('--tenant <tenant>', "tenant id or slug, or 'provider'")
    .requiredOption('--seq <n>', 'record seq', (v) => Number.parseInt(v, 10))
    .requiredOption('--reason <text>', 'why (stored in the audit trail)')
    .option('--actor <id>', 'portal user id of the person redacting')
    .addOption(dbOption())
    .action(async (o: { tenant: string; seq: number; reason: string; actor?: string; databaseUrl?: string }) => {
      await withDb(o.databaseUrl, async (db) => {
        const chainId = await chainOf(db, o.tenant);
        const done = await redactRecord(db, { chainId, seq: o.seq, reason: o.reason, actor: o.actor ?? null });
        if (!done) throw AppError.notFound('Unredacted audit record');
        out(`redacted ${chainId} seq ${o.seq}\n`);
      });
    });

  audit
    .command('prune')
    .description('retention: delete records recorded before a time, in whole checkpointed ranges; audited')
    .requiredOption('--tenant <tenant>', "tenant id or slug, or 'provider'")
    .requiredOption('--before <time>', 'ISO 8601')
    .option('--actor <id>', 'portal user id of the person pruning')
    .addOption(dbOption())
    .action(async (o: { tenant: string; before: string; actor?: string; databaseUrl?: string }) => {
      await withDb(o.databaseUrl, async (db) => {
        const chainId = await chainOf(db, o.tenant);
        const res = await pruneChain(db, { chainId, before: parseTime('--before', o.before), actor: o.actor ?? null });
        out(`pruned ${res.deleted} records of ${chainId}; the chain now starts after seq ${res.prunedThroughSeq}\n`);
      });
    });
}

async function trustedKeys(o: { publicKey?: string; signingKey?: string }): Promise<KeyObject[]> {
  const keys: KeyObject[] = [];
  if (o.publicKey) keys.push(loadPublicKey(await readFile(o.publicKey, 'utf8')));
  if (o.signingKey) keys.push(loadPublicKey(o.signingKey));
  return keys;
}

async function withDb<T>(url: string | undefined, fn: (db: Db) => Promise<T>): Promise<T> {
  if (!url) throw AppError.badInput('no database: pass --database-url or set DATABASE_URL');
  const orm = await createOrm({ databaseUrl: url, poolMax: 2 });
  try {
    return await fn(await poolOf(orm));
  } finally {
    await orm.close(true);
  }
}

async function chainOf(db: Db, tenant: string): Promise<string> {
  const chainId = await resolveChainId(db, tenant);
  if (!chainId) throw AppError.notFound('Tenant');
  return chainId;
}

function parseTime(flag: string, value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw AppError.badInput(`${flag}: not a time: ${value}`);
  return d;
}

function summary(r: VerificationReport): string {
  const head =
    `${r.ok ? 'OK    ' : 'FAILED'} chain ${r.chainId}: ${r.recordsChecked} records (seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}), ` +
    `${r.checkpointsChecked} checkpoints, signed through seq ${r.coveredThroughSeq ?? '-'}${r.redactedRecords ? `, ${r.redactedRecords} redacted` : ''}\n`;
  return (
    head +
    describeFindings(r.findings)
      .map((l) => `  ${l}\n`)
      .join('') +
    (r.findingsTruncated ? '  (more findings not shown)\n' : '')
  );
}

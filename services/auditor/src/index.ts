// @tenantgate/auditor — the reviewed public surface, for the CLI, the bench and the gateway's
// export. The service itself starts from src/main.ts.
export { AuditorService, type AuditorDeps, type AuditorOptions } from './auditor.ts';
export { AuditorConfigSchema, loadConfig, type AuditorConfig } from './config.ts';
export { poolOf, inTransaction, type Db, type Tx } from './db.ts';
export { ChainWriter, type ChainHead, type NewRecord, type AppendedRecord } from './chain-writer.ts';
export { InboxProcessor, type BatchResult } from './inbox-processor.ts';
export { insertInboxEvent } from './inbox-writer.ts';
export { listChains, readCheckpoints, readRecords, resolveChainId, type ChainInfo } from './chain-reader.ts';
export { verifyChains, raiseVerificationFailure, type VerifyOptions } from './verifier.ts';
export { PeriodicVerifier, type PeriodicVerificationResult } from './periodic-verifier.ts';
export { exportBundle, type ExportOptions } from './exporter.ts';
export { redactRecord, pruneChain, type PruneResult } from './maintenance.ts';
export { AlertStore } from './alerts/store.ts';
export { starterRules, ruleKinds, type StarterRule } from './alerts/catalog.ts';
export { seedStarterRules } from './alerts/seed.ts';
export { systemClock, type Clock, type RuleDefinition, type RuleEvent, type Signal } from './alerts/types.ts';

// @tenantgate/audit-core — the reviewed public surface: pure chain primitives shared by the
// auditor, the CLI and the gateway's export. No database driver, no network: the chain reader
// runs its SQL through a query function the caller supplies.
export { canonicalJson } from './canonical.ts';
export {
  GENESIS_HASH,
  PROVIDER_CHAIN_ID,
  RECORD_HASH_TAG,
  PAYLOAD_DIGEST_TAG,
  payloadDigest,
  recordHash,
  recordCoreOf,
  canonicalCore,
  isoMillis,
  type RecordCore,
  type ChainRecord,
  type Outcome,
  type Detection,
} from './record.ts';
export {
  CHECKPOINT_TAG,
  checkpointMessage,
  signCheckpoint,
  checkpointSignatureValid,
  keyIdOf,
  loadSigningKey,
  loadPublicKey,
  publicKeyToBase64,
  type Checkpoint,
  type UnsignedCheckpoint,
  type SigningKey,
} from './checkpoint.ts';
export {
  ChainVerifier,
  FindingCode,
  type Finding,
  type VerificationReport,
  type ChainVerifierOptions,
  type AddOptions,
  type CheckpointAnchor,
} from './verify.ts';
export {
  BUNDLE_FORMAT,
  createBundle,
  verifyBundle,
  serializeBundle,
  parseBundle,
  describeFindings,
  type AuditBundle,
  type BundleHeader,
  type BundleRecord,
  type BundleVerification,
  type BundleFileFormat,
  type VerifyBundleOptions,
  type CreateBundleInput,
} from './bundle.ts';
export {
  ChainReader,
  RECORD_COLUMNS,
  chainRecordFromRow,
  toQuestionMarks,
  type ChainQuery,
  type ChainHead,
  type ChainSlice,
  type ReadBundleInput,
} from './chain-reader.ts';

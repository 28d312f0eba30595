-- tenantgate initial schema. Hand-written SQL; applied by the MikroORM migrator
-- (Migration20261123000001Initial.ts reads this file). Never edit after release: add a new file.

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- ───────────────────────────── tenancy and portal identities ─────────────────────────────
CREATE TABLE tenant (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  locked        boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  deleted_at    timestamptz
);

CREATE TABLE portal_user (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username               text NOT NULL CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
  display_name           text NOT NULL DEFAULT '',
  password_hash          text,
  -- global roles; tenant roles live in membership
  is_portal_admin        boolean NOT NULL DEFAULT false,
  is_compliance_auditor  boolean NOT NULL DEFAULT false,
  disabled               boolean NOT NULL DEFAULT false,
  expires_at             timestamptz,
  failed_logins          integer NOT NULL DEFAULT 0,
  locked_until           timestamptz,
  last_login_at          timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX portal_user_username_key ON portal_user (lower(username));

CREATE TABLE membership (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES portal_user(id) ON DELETE CASCADE,
  tenant_id   uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('tenant_admin', 'tenant_user')),
  -- PVE privilege names granted to this membership (VM.Audit, VM.PowerMgmt, VM.Console, ...)
  privileges  text[] NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, tenant_id)
);
CREATE INDEX membership_tenant_idx ON membership (tenant_id);

CREATE TABLE portal_session (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES portal_user(id) ON DELETE CASCADE,
  token_hash    bytea NOT NULL UNIQUE,   -- SHA-256 of the opaque token; the token itself is never stored
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  last_seen_at  timestamptz,
  src_ip        text
);
CREATE INDEX portal_session_user_idx ON portal_session (user_id);

CREATE TABLE portal_api_token (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES portal_user(id) ON DELETE CASCADE,
  name          text NOT NULL CHECK (name ~ '^[A-Za-z][A-Za-z0-9._-]{0,63}$'),
  token_hash    bytea NOT NULL UNIQUE,
  -- NULL: the owner's privileges (like PVE privsep=0); otherwise an intersection with the owner's
  privileges    text[],
  expires_at    timestamptz,
  revoked_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  UNIQUE (user_id, name)
);

-- ───────────────────────────── PVE connections and inventory ─────────────────────────────
CREATE TABLE pve_connection (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
  base_url          text NOT NULL,
  fingerprint       text,               -- SHA-256 certificate fingerprint, AA:BB:... upper-case
  token_id          text NOT NULL,      -- user@realm!tokenname
  secret_enc        bytea NOT NULL,     -- AES-256-GCM: 12-byte IV ‖ 16-byte tag ‖ ciphertext
  poll_interval_ms  integer NOT NULL DEFAULT 10000 CHECK (poll_interval_ms >= 1000),
  enabled           boolean NOT NULL DEFAULT true,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per (connection, source key): the cursor that pve-sync advances only in the same
-- transaction that writes the source's inbox rows (fail closed).
CREATE TABLE sync_cursor (
  connection_id         uuid NOT NULL REFERENCES pve_connection(id) ON DELETE CASCADE,
  source                text NOT NULL,        -- 'resources', 'tasks:<node>', 'cluster-log', 'journal:<node>', 'access'
  cursor                jsonb NOT NULL DEFAULT '{}',
  last_attempt_at       timestamptz,
  last_success_at       timestamptz,
  last_error            text,
  last_error_code       text,
  consecutive_failures  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (connection_id, source)
);

CREATE TABLE pve_node (
  connection_id  uuid NOT NULL REFERENCES pve_connection(id) ON DELETE CASCADE,
  node           text NOT NULL,
  status         text NOT NULL,
  raw            jsonb NOT NULL,
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, node)
);

-- Resource assignments to tenants. valid_from/valid_to keep history: attribution uses the
-- assignment in force when an event occurred. A guest resolves to at most one tenant:
-- guest-level beats pool-level beats connection-level, and each level has one active row.
CREATE TABLE assignment (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id      uuid NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
  connection_id  uuid NOT NULL REFERENCES pve_connection(id) ON DELETE CASCADE,
  kind           text NOT NULL CHECK (kind IN ('guest', 'pool', 'connection')),
  vmid           integer,
  pool           text,
  valid_from     timestamptz NOT NULL DEFAULT now(),
  valid_to       timestamptz,
  created_by     uuid,
  CHECK ((kind = 'guest') = (vmid IS NOT NULL)),
  CHECK ((kind = 'pool') = (pool IS NOT NULL)),
  CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX assignment_one_guest ON assignment (connection_id, vmid) WHERE kind = 'guest' AND valid_to IS NULL;
CREATE UNIQUE INDEX assignment_one_pool ON assignment (connection_id, pool) WHERE kind = 'pool' AND valid_to IS NULL;
CREATE UNIQUE INDEX assignment_one_connection ON assignment (connection_id) WHERE kind = 'connection' AND valid_to IS NULL;
CREATE INDEX assignment_tenant_idx ON assignment (tenant_id) WHERE valid_to IS NULL;

CREATE TABLE guest (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  connection_id  uuid NOT NULL REFERENCES pve_connection(id) ON DELETE CASCADE,
  vmid           integer NOT NULL,
  type           text NOT NULL CHECK (type IN ('qemu', 'lxc')),
  node           text NOT NULL,
  name           text,
  status         text NOT NULL,
  pool           text,
  tags           text[] NOT NULL DEFAULT '{}',
  template       boolean NOT NULL DEFAULT false,
  maxcpu         double precision,
  maxmem         bigint,
  maxdisk        bigint,
  uptime         bigint,
  raw            jsonb NOT NULL,
  -- Denormalised owner, maintained by triggers from assignment (never written by application code):
  -- every tenant-scoped query is a plain indexed predicate on this column.
  tenant_id      uuid REFERENCES tenant(id) ON DELETE SET NULL,
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  deleted_at     timestamptz,
  UNIQUE (connection_id, vmid)
);
CREATE INDEX guest_tenant_idx ON guest (tenant_id, name, id) WHERE deleted_at IS NULL;

CREATE FUNCTION guest_owner(p_connection uuid, p_vmid integer, p_pool text, p_at timestamptz)
RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT tenant_id FROM (
    SELECT a.tenant_id, CASE a.kind WHEN 'guest' THEN 1 WHEN 'pool' THEN 2 ELSE 3 END AS rank
    FROM assignment a
    WHERE a.connection_id = p_connection
      AND a.valid_from <= p_at AND (a.valid_to IS NULL OR a.valid_to > p_at)
      AND ((a.kind = 'guest' AND a.vmid = p_vmid)
        OR (a.kind = 'pool' AND p_pool IS NOT NULL AND a.pool = p_pool)
        OR a.kind = 'connection')
    ORDER BY rank LIMIT 1
  ) t
$$;

CREATE FUNCTION guest_set_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.tenant_id := guest_owner(NEW.connection_id, NEW.vmid, NEW.pool, now());
  RETURN NEW;
END $$;
CREATE TRIGGER guest_owner_trg BEFORE INSERT OR UPDATE OF pool, connection_id, vmid ON guest
  FOR EACH ROW EXECUTE FUNCTION guest_set_owner();

CREATE FUNCTION assignment_refresh_owners() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE c uuid;
BEGIN
  c := COALESCE(NEW.connection_id, OLD.connection_id);
  UPDATE guest g SET tenant_id = guest_owner(g.connection_id, g.vmid, g.pool, now())
   WHERE g.connection_id = c
     AND g.tenant_id IS DISTINCT FROM guest_owner(g.connection_id, g.vmid, g.pool, now());
  RETURN NULL;
END $$;
CREATE TRIGGER assignment_refresh_trg AFTER INSERT OR UPDATE OR DELETE ON assignment
  FOR EACH ROW EXECUTE FUNCTION assignment_refresh_owners();

CREATE TABLE pve_task (
  upid            text PRIMARY KEY,
  connection_id   uuid NOT NULL REFERENCES pve_connection(id) ON DELETE CASCADE,
  node            text NOT NULL,
  type            text NOT NULL,
  task_id         text NOT NULL DEFAULT '',   -- the UPID id field ('' when none)
  vmid            integer,                    -- task_id when it is a guest id
  pve_user        text NOT NULL,              -- user@realm
  token_id        text,
  starttime       timestamptz NOT NULL,
  endtime         timestamptz,
  status          text,                       -- NULL while running; "OK", "WARNINGS: n", error text
  outcome         text NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'ok', 'warning', 'error', 'unknown')),
  portal_user_id  uuid REFERENCES portal_user(id) ON DELETE SET NULL,
  portal_tenant_id uuid REFERENCES tenant(id) ON DELETE SET NULL,
  request_id      uuid,
  first_seen_at   timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pve_task_guest_idx ON pve_task (connection_id, vmid, starttime DESC);
CREATE INDEX pve_task_running_idx ON pve_task (connection_id, node) WHERE outcome = 'running';

-- Snapshots of PVE access configuration, diffed into change events.
CREATE TABLE pve_access_snapshot (
  connection_id  uuid NOT NULL REFERENCES pve_connection(id) ON DELETE CASCADE,
  kind           text NOT NULL,   -- users, groups, roles, acl, pools
  digest         text NOT NULL,
  data           jsonb NOT NULL,
  taken_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, kind)
);

-- Power actions started from the portal: the UPID PVE returned, with the real person behind it.
CREATE TABLE portal_action (
  request_id     uuid PRIMARY KEY,
  user_id        uuid NOT NULL REFERENCES portal_user(id),
  tenant_id      uuid NOT NULL REFERENCES tenant(id),
  connection_id  uuid NOT NULL REFERENCES pve_connection(id),
  vmid           integer NOT NULL,
  action         text NOT NULL,
  upid           text,
  error          text,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX portal_action_upid_idx ON portal_action (upid);

-- ───────────────────────────── audit pipeline ─────────────────────────────
-- Every source event lands here first, in the same transaction as its source cursor.
CREATE TABLE audit_inbox (
  dedup_key      text PRIMARY KEY,
  event_id       uuid NOT NULL UNIQUE,
  connection_id  uuid,
  source         text NOT NULL,
  occurred_at    timestamptz NOT NULL,
  observed_at    timestamptz NOT NULL DEFAULT now(),
  event          jsonb NOT NULL,           -- an AuditSourceEvent (packages/shared/src/contracts)
  processed_at   timestamptz,
  attempts       integer NOT NULL DEFAULT 0,
  last_error     text,
  -- set when processing the row failed: it is retried alone (never inside a batch) from this time,
  -- and quarantined as an audit.invalid_event record after POISON_MAX_ATTEMPTS failures
  retry_at       timestamptz
);
CREATE INDEX audit_inbox_pending_idx ON audit_inbox (observed_at) WHERE processed_at IS NULL;
CREATE INDEX audit_inbox_retry_idx ON audit_inbox (retry_at) WHERE processed_at IS NULL AND retry_at IS NOT NULL;
-- inbox retention (processed rows older than INBOX_RETENTION_HOURS) scans old page ranges only;
-- BRIN costs almost nothing on insert and does not block HOT updates
CREATE INDEX audit_inbox_observed_brin ON audit_inbox USING brin (observed_at);

-- Head of each chain ('provider' or a tenant id); locked FOR UPDATE to assign the next seq, so
-- commit order equals seq order and seq is gapless.
CREATE TABLE audit_chain (
  chain_id     text PRIMARY KEY,
  tenant_id    uuid REFERENCES tenant(id),
  head_seq     bigint NOT NULL DEFAULT 0,
  head_hash    bytea NOT NULL,
  -- the latest signed checkpoint (the next one links to its signature)
  checkpoint_seq        bigint NOT NULL DEFAULT 0,
  checkpoint_at         timestamptz,
  checkpoint_signature  bytea,
  -- retention: records with seq <= pruned_through_seq were deleted as whole checkpointed ranges
  pruned_through_seq    bigint NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- No foreign key to audit_chain: records are only appended under the chain's row lock, and a
-- per-row RI check costs ~25 % of the append (measured, bench audit).
CREATE TABLE audit_record (
  chain_id        text NOT NULL,
  seq             bigint NOT NULL,
  event_id        uuid NOT NULL,
  dedup_key       text NOT NULL,
  tenant_id       uuid,
  occurred_at     timestamptz NOT NULL,
  observed_at     timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL,
  source          text NOT NULL,
  category        text NOT NULL,
  action          text NOT NULL,
  outcome         text NOT NULL CHECK (outcome IN ('success', 'failure', 'unknown')),
  actor_type      text NOT NULL,
  actor_id        text,
  actor_principal text,
  src_ip          text,
  connection_id   uuid,
  node            text,
  target_type     text,
  target_id       text,
  target_name     text,
  target_path     text,
  upid            text,
  request_id      text,
  detection       text NOT NULL CHECK (detection IN ('reported', 'diff', 'correlated')),
  payload         jsonb,
  payload_digest  bytea NOT NULL,
  redacted_at     timestamptz,
  prev_hash       bytea NOT NULL,
  record_hash     bytea NOT NULL,
  PRIMARY KEY (chain_id, seq),
  UNIQUE (chain_id, dedup_key)
);
CREATE INDEX audit_record_time_idx ON audit_record (chain_id, occurred_at DESC);
CREATE INDEX audit_record_actor_idx ON audit_record (chain_id, actor_id);

CREATE TABLE audit_checkpoint (
  chain_id        text NOT NULL REFERENCES audit_chain(chain_id),
  seq             bigint NOT NULL,
  head_hash       bytea NOT NULL,
  created_at      timestamptz NOT NULL,
  prev_signature  bytea,
  key_id          text NOT NULL,
  signature       bytea NOT NULL,
  PRIMARY KEY (chain_id, seq)
);

-- Progress of the auditor's periodic verifier: each chain is verified incrementally, from the last
-- signed checkpoint it verified (hash, signature) to the head; a failure is remembered so the
-- same findings raise AUDIT-001 once, not on every run.
CREATE TABLE audit_verify_state (
  chain_id              text PRIMARY KEY REFERENCES audit_chain(chain_id),
  checkpoint_seq        bigint NOT NULL DEFAULT 0,
  checkpoint_hash       bytea,
  checkpoint_signature  bytea,
  verified_at           timestamptz,
  failed_codes          text[],
  failed_at             timestamptz
);

-- Insert-only: UPDATE and DELETE are refused unless the retention routine (DELETE) or the
-- redaction routine (payload only) set their session flag inside their own transaction.
CREATE FUNCTION audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('tenantgate.audit_retention', true) = 'on' THEN RETURN OLD; END IF;
    RAISE EXCEPTION 'audit tables are insert-only (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_TABLE_NAME = 'audit_record' AND current_setting('tenantgate.audit_redaction', true) = 'on' THEN
    IF (to_jsonb(NEW) - 'payload' - 'redacted_at') = (to_jsonb(OLD) - 'payload' - 'redacted_at')
       AND to_jsonb(NEW) -> 'payload' = 'null'::jsonb THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'audit tables are insert-only (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_record_guard BEFORE UPDATE OR DELETE ON audit_record FOR EACH ROW EXECUTE FUNCTION audit_guard();
CREATE TRIGGER audit_checkpoint_guard BEFORE UPDATE OR DELETE ON audit_checkpoint FOR EACH ROW EXECUTE FUNCTION audit_guard();

-- ───────────────────────────── alerts ─────────────────────────────
CREATE TABLE alert_rule (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid REFERENCES tenant(id) ON DELETE CASCADE,   -- NULL: a provider-wide rule
  code        text NOT NULL,                                  -- AUTH-001, TASK-002, ...
  kind        text NOT NULL,                                  -- the evaluator that runs it
  name        text NOT NULL,
  severity    text NOT NULL CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
  params      jsonb NOT NULL DEFAULT '{}',
  scope       jsonb NOT NULL DEFAULT '{}',
  enabled     boolean NOT NULL DEFAULT true,
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX alert_rule_builtin_key ON alert_rule (code) WHERE tenant_id IS NULL;

CREATE TABLE alert (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  rule_id          uuid NOT NULL REFERENCES alert_rule(id) ON DELETE CASCADE,
  tenant_id        uuid REFERENCES tenant(id) ON DELETE CASCADE,  -- NULL: provider-level
  dedup_key        text NOT NULL,
  state            text NOT NULL CHECK (state IN ('pending', 'firing', 'acknowledged', 'resolved', 'silenced')),
  severity         text NOT NULL,
  title            text NOT NULL,
  summary          text NOT NULL DEFAULT '',
  labels           jsonb NOT NULL DEFAULT '{}',
  occurrences      integer NOT NULL DEFAULT 1,
  first_seen_at    timestamptz NOT NULL,
  last_seen_at     timestamptz NOT NULL,
  acknowledged_by  uuid,
  acknowledged_at  timestamptz,
  resolved_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- one open alert per (rule, tenant, dedup key)
CREATE UNIQUE INDEX alert_open_key ON alert (rule_id, COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), dedup_key) WHERE state <> 'resolved';
CREATE INDEX alert_tenant_idx ON alert (tenant_id, created_at DESC);

-- Every transition, append-only; id is the replay cursor of alertStream.
CREATE TABLE alert_event (
  id          bigserial PRIMARY KEY,
  alert_id    uuid NOT NULL REFERENCES alert(id) ON DELETE CASCADE,
  tenant_id   uuid,
  from_state  text,
  to_state    text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  actor_id    uuid,
  note        text
);
CREATE INDEX alert_event_tenant_idx ON alert_event (tenant_id, id);
CREATE TRIGGER alert_event_guard BEFORE UPDATE OR DELETE ON alert_event FOR EACH ROW EXECUTE FUNCTION audit_guard();

-- Window state of alert rules (counters, recent failures), so windows survive restarts and are
-- shared by every auditor process. Rows are locked FOR UPDATE while a rule evaluates.
CREATE TABLE alert_rule_state (
  rule_id     uuid NOT NULL REFERENCES alert_rule(id) ON DELETE CASCADE,
  chain_id    text NOT NULL,
  state_key   text NOT NULL,
  state       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_id, chain_id, state_key)
);

CREATE TABLE alert_silence (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id   uuid REFERENCES tenant(id) ON DELETE CASCADE,
  rule_code   text,
  dedup_key   text,
  until       timestamptz NOT NULL,
  reason      text NOT NULL DEFAULT '',
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now()
);

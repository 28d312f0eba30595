-- alert_event ids come from a sequence, and sequence values are taken before commit: a transaction
-- holding id 10 may commit after id 11 is already visible. A reader that replays `id > cursor`
-- would then skip id 10 forever. Each row records its writer's transaction id; readers return only
-- rows whose writer is older than every transaction still in flight
-- (`xid < pg_snapshot_xmin(pg_current_snapshot())`) and read them in (xid, id) order. Rows settle
-- in that order (a newly settled row's xid is at least the previous xmin), so a reader never
-- passes a row that can still appear: rows still being written wait for the next read.
ALTER TABLE alert_event ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
-- alertStream's replay order: (xid, id) within a tenant's events.
CREATE INDEX alert_event_tenant_xid_idx ON alert_event (tenant_id, xid, id);

-- AlterTable
ALTER TABLE "runs" ADD COLUMN     "leaseExpiresAt" TIMESTAMPTZ(3),
ADD COLUMN     "workerId" TEXT;

-- Every event of a run raises its "eventSeq" in the transaction that writes it.
-- Announcing the new number from that same transaction makes PostgreSQL deliver
-- the announcements to every listening process in commit order, i.e. in
-- sequence order per run, and only for committed writes (src/runs/event-listener.ts).
-- The payload is small (id and number); listeners read the events from the tables.
CREATE FUNCTION "stylegraph_announce_run_event"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW."eventSeq" <> OLD."eventSeq" THEN
    PERFORM pg_notify('stylegraph_run_events', json_build_object('runId', NEW."id", 'seq', NEW."eventSeq")::text);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "runs_announce_event"
AFTER INSERT OR UPDATE OF "eventSeq" ON "runs"
FOR EACH ROW EXECUTE FUNCTION "stylegraph_announce_run_event"();

-- What the store needs to remember search matches (see `helpdesk-sql`'s `matches` module):
-- the transaction that last wrote each ticket's text, and how many times tickets were deleted.
--
-- A search remembers its matches with the snapshot it read them in. Asking again, the tickets
-- whose text changed since are those whose `text_xid` that snapshot did not see, found by
-- index from the oldest transaction it saw running on; a deletion changes the number and the
-- matches are read again. Ids cannot say what is new: sequences hand them out before commit.
--
-- Tickets written before this migration keep `text_xid` NULL, which every snapshot has seen.
ALTER TABLE tickets ADD COLUMN text_xid xid8;
ALTER TABLE tickets ALTER COLUMN text_xid SET DEFAULT pg_current_xact_id();
CREATE INDEX tickets_text_xid ON tickets (text_xid);

CREATE FUNCTION tickets_text_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.text_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;
CREATE TRIGGER tickets_text_written BEFORE UPDATE OF title, description ON tickets
FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title
                   OR OLD.description IS DISTINCT FROM NEW.description)
EXECUTE FUNCTION tickets_text_written();

CREATE TABLE ticket_text_edits (n bigint NOT NULL);
INSERT INTO ticket_text_edits (n) VALUES (0);

CREATE FUNCTION tickets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ticket_text_edits SET n = n + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER tickets_deleted AFTER DELETE ON tickets
FOR EACH STATEMENT EXECUTE FUNCTION tickets_deleted();

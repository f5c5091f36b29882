-- The outbox without foreign keys. Each email the sweep queued checked that its ticket and its
-- recipient's account exist, a lookup and a row lock (`FOR KEY SHARE`) each: on the load
-- benchmark's database, 20,000 emails took 238 to 304 ms to insert with the checks and 67 to
-- 96 without. Nothing but the sweep writes the outbox, and it reads both from tickets it holds
-- locked and from accounts, which are never deleted (an account is erased in place). A deleted
-- ticket's emails are deleted by a trigger, as the cascade did, by id in one statement.
ALTER TABLE outbox
    DROP CONSTRAINT outbox_ticket_id_fkey,
    DROP CONSTRAINT outbox_user_id_fkey;

CREATE FUNCTION outbox_tickets_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM outbox WHERE ticket_id = ANY (ARRAY(SELECT id FROM old_tickets));
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_tickets_deleted AFTER DELETE ON tickets
REFERENCING OLD TABLE AS old_tickets
FOR EACH STATEMENT EXECUTE FUNCTION outbox_tickets_deleted();

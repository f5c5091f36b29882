-- How many times a ticket's creator or assignee was changed, kept by a trigger. The store
-- remembers each scope's report (see `helpdesk-sql`'s `reports` module) and reads only the
-- events since; which tickets are in a user's or an agent's scope changes only here, and this
-- number changing tells it to count again. A rebuild of `tickets` must recreate the trigger.
CREATE TABLE ticket_scope_edits (n INTEGER NOT NULL);
INSERT INTO ticket_scope_edits (n) VALUES (0);

CREATE TRIGGER ticket_scope_edits_update AFTER UPDATE OF created_by, assigned_to ON tickets
WHEN old.created_by IS NOT new.created_by OR old.assigned_to IS NOT new.assigned_to BEGIN
    UPDATE ticket_scope_edits SET n = n + 1;
END;

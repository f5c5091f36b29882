-- How many times a ticket's text was changed or a ticket deleted, kept by triggers. The store
-- remembers the ids a search matched (see `helpdesk-sql`'s `matches` module); a new ticket
-- only adds ids above those it saw, which it reads from the search index by id range, but an
-- edit or a deletion can take a match away, and this number changing tells it to ask again.
-- A rebuild of `tickets` must recreate these triggers, like the search triggers.
CREATE TABLE ticket_text_edits (n INTEGER NOT NULL);
INSERT INTO ticket_text_edits (n) VALUES (0);

CREATE TRIGGER ticket_text_edits_delete AFTER DELETE ON tickets BEGIN
    UPDATE ticket_text_edits SET n = n + 1;
END;
CREATE TRIGGER ticket_text_edits_update AFTER UPDATE OF title, description ON tickets
WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
    UPDATE ticket_text_edits SET n = n + 1;
END;

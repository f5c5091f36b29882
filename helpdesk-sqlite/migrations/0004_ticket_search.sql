-- Ticket search (`search`, `title`) matches anywhere in the text, case-insensitively: a
-- trigram full-text index answers substring phrases without scanning every ticket. Triggers
-- keep it in step with the tickets.
CREATE VIRTUAL TABLE tickets_search USING fts5 (
    title, description, content = 'tickets', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO tickets_search (tickets_search) VALUES ('rebuild');
CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_search (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER tickets_search_update AFTER UPDATE OF title, description ON tickets
WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
    INSERT INTO tickets_search (tickets_search, rowid, title, description)
    VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO tickets_search (rowid, title, description) VALUES (new.id, new.title, new.description);
END;

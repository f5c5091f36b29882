-- Ticket search (`search`, `title`) is `ILIKE '%...%'`: trigram indexes answer it without
-- scanning every ticket.
CREATE INDEX tickets_title_trgm ON tickets USING gin (title public.gin_trgm_ops);
CREATE INDEX tickets_description_trgm ON tickets USING gin (description public.gin_trgm_ops);

-- The last-7-days report counts events by time, kind and (for resolutions) new status: an
-- index that holds all three answers it without reading the history rows.
CREATE INDEX history_report ON history (at, kind, to_value);
DROP INDEX history_at;

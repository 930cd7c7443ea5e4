-- PostgreSQL peer, groupby: count, sum, min and max of the values per key.
-- gb_rows is a bag: one row per (key, value) copy.

-- name: schema
CREATE TABLE gb_rows (key bigint NOT NULL, value bigint NOT NULL);

-- name: index
CREATE INDEX gb_rows_key_value ON gb_rows (key, value);

-- name: answer_recompute
WITH per_key(key, cnt, total, mn, mx) AS (
    SELECT key, count(*), sum(value), min(value), max(value)
      FROM gb_rows GROUP BY key
)
SELECT count(*)                AS keys,
       coalesce(sum(cnt), 0)   AS count,
       coalesce(sum(total), 0) AS sum,
       coalesce(sum(mn), 0)    AS min_sum,
       coalesce(sum(mx), 0)    AS max_sum
  FROM per_key;

-- name: triggers
-- gb_summary holds one row per key with at least one row, kept by
-- statement-level triggers that read the statement's inserted or deleted
-- rows as a transition table (faster here than row-level triggers, see
-- ../shared/ANCHORS.md). Removing a key's minimum or maximum looks up the
-- new one in gb_rows (an AFTER trigger sees the table without the deleted
-- rows), through the (key, value) index.
CREATE TABLE gb_summary (
    key   bigint PRIMARY KEY,
    cnt   bigint NOT NULL,
    total numeric NOT NULL,
    mn    bigint NOT NULL,
    mx    bigint NOT NULL
);

CREATE FUNCTION gb_rows_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gb_summary AS s (key, cnt, total, mn, mx)
    SELECT key, count(*), sum(value), min(value), max(value)
      FROM inserted GROUP BY key
    ON CONFLICT (key) DO UPDATE SET
        cnt   = s.cnt + excluded.cnt,
        total = s.total + excluded.total,
        mn    = least(s.mn, excluded.mn),
        mx    = greatest(s.mx, excluded.mx);
    RETURN NULL;
END $$;

CREATE FUNCTION gb_rows_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM gb_summary AS s
     USING (SELECT key, count(*) AS cnt FROM deleted GROUP BY key) AS d
     WHERE s.key = d.key AND s.cnt = d.cnt;
    UPDATE gb_summary AS s SET
        cnt   = s.cnt - d.cnt,
        total = s.total - d.total,
        mn    = CASE WHEN d.mn = s.mn
                     THEN (SELECT min(value) FROM gb_rows AS r WHERE r.key = s.key)
                     ELSE s.mn END,
        mx    = CASE WHEN d.mx = s.mx
                     THEN (SELECT max(value) FROM gb_rows AS r WHERE r.key = s.key)
                     ELSE s.mx END
      FROM (SELECT key, count(*) AS cnt, sum(value) AS total, min(value) AS mn, max(value) AS mx
              FROM deleted GROUP BY key) AS d
     WHERE s.key = d.key;
    RETURN NULL;
END $$;

CREATE TRIGGER gb_rows_insert AFTER INSERT ON gb_rows
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION gb_rows_inserted();

CREATE TRIGGER gb_rows_delete AFTER DELETE ON gb_rows
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION gb_rows_deleted();

-- name: answer_triggers
SELECT count(*)                AS keys,
       coalesce(sum(cnt), 0)   AS count,
       coalesce(sum(total), 0) AS sum,
       coalesce(sum(mn), 0)    AS min_sum,
       coalesce(sum(mx), 0)    AS max_sum
  FROM gb_summary;

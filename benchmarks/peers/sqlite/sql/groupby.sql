-- SQLite peer, groupby: count, sum, min and max of the values per key.
-- gb_rows is a bag: one row per (key, value) copy.

-- name: schema
CREATE TABLE gb_rows (key INTEGER NOT NULL, value INTEGER NOT NULL);

-- name: index
CREATE INDEX gb_rows_key_value ON gb_rows (key, value);

-- name: insert
INSERT INTO gb_rows (key, value) VALUES (?, ?);

-- name: delete_one
DELETE FROM gb_rows
 WHERE rowid = (SELECT rowid FROM gb_rows WHERE key = ? AND value = ? LIMIT 1);

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
-- gb_summary holds one row per key with at least one row, kept by row-level
-- triggers (SQLite has no statement-level ones). Removing a key's minimum
-- or maximum looks up the new one in gb_rows (the row is already gone in an
-- AFTER DELETE trigger), through the (key, value) index.
CREATE TABLE gb_summary (
    key   INTEGER PRIMARY KEY,
    cnt   INTEGER NOT NULL,
    total INTEGER NOT NULL,
    mn    INTEGER NOT NULL,
    mx    INTEGER NOT NULL
);

CREATE TRIGGER gb_rows_insert AFTER INSERT ON gb_rows BEGIN
    INSERT INTO gb_summary (key, cnt, total, mn, mx)
    VALUES (new.key, 1, new.value, new.value, new.value)
    ON CONFLICT (key) DO UPDATE SET
        cnt   = cnt + 1,
        total = total + excluded.total,
        mn    = min(mn, excluded.mn),
        mx    = max(mx, excluded.mx);
END;

CREATE TRIGGER gb_rows_delete AFTER DELETE ON gb_rows BEGIN
    DELETE FROM gb_summary WHERE key = old.key AND cnt = 1;
    UPDATE gb_summary SET
        cnt   = cnt - 1,
        total = total - old.value,
        mn    = CASE WHEN old.value = mn
                     THEN (SELECT min(value) FROM gb_rows WHERE key = old.key) ELSE mn END,
        mx    = CASE WHEN old.value = mx
                     THEN (SELECT max(value) FROM gb_rows WHERE key = old.key) ELSE mx END
     WHERE key = old.key;
END;

-- name: answer_triggers
SELECT count(*)                AS keys,
       coalesce(sum(cnt), 0)   AS count,
       coalesce(sum(total), 0) AS sum,
       coalesce(sum(mn), 0)    AS min_sum,
       coalesce(sum(mx), 0)    AS max_sum
  FROM gb_summary;

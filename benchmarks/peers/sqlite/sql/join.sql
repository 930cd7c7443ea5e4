-- SQLite peer, join: the number of joined pairs per key of two bags of
-- (key, value) rows, jn_left and jn_right.

-- name: schema
CREATE TABLE jn_left  (key INTEGER NOT NULL, value INTEGER NOT NULL);
CREATE TABLE jn_right (key INTEGER NOT NULL, value INTEGER NOT NULL);

-- name: index
CREATE INDEX jn_left_key_value  ON jn_left  (key, value);
CREATE INDEX jn_right_key_value ON jn_right (key, value);

-- name: insert_left
INSERT INTO jn_left (key, value) VALUES (?, ?);

-- name: insert_right
INSERT INTO jn_right (key, value) VALUES (?, ?);

-- name: delete_one_left
DELETE FROM jn_left
 WHERE rowid = (SELECT rowid FROM jn_left WHERE key = ? AND value = ? LIMIT 1);

-- name: delete_one_right
DELETE FROM jn_right
 WHERE rowid = (SELECT rowid FROM jn_right WHERE key = ? AND value = ? LIMIT 1);

-- name: answer_recompute
WITH per_key(key, pairs) AS (
    SELECT l.key, count(*)
      FROM jn_left AS l JOIN jn_right AS r ON r.key = l.key
     GROUP BY l.key
)
SELECT count(*)                      AS keys,
       coalesce(sum(pairs), 0)       AS pairs,
       coalesce(sum(pairs * pairs), 0) AS pairs_sq_sum
  FROM per_key;

-- name: triggers
-- jn_counts holds, per key, the number of rows on each side, kept by
-- row-level triggers; a key's pairs are their product (a generated column).
CREATE TABLE jn_counts (
    key   INTEGER PRIMARY KEY,
    l     INTEGER NOT NULL DEFAULT 0,
    r     INTEGER NOT NULL DEFAULT 0,
    pairs INTEGER GENERATED ALWAYS AS (l * r) STORED
);

CREATE TRIGGER jn_left_insert AFTER INSERT ON jn_left BEGIN
    INSERT INTO jn_counts (key, l) VALUES (new.key, 1)
    ON CONFLICT (key) DO UPDATE SET l = l + 1;
END;

CREATE TRIGGER jn_right_insert AFTER INSERT ON jn_right BEGIN
    INSERT INTO jn_counts (key, r) VALUES (new.key, 1)
    ON CONFLICT (key) DO UPDATE SET r = r + 1;
END;

CREATE TRIGGER jn_left_delete AFTER DELETE ON jn_left BEGIN
    UPDATE jn_counts SET l = l - 1 WHERE key = old.key;
    DELETE FROM jn_counts WHERE key = old.key AND l = 0 AND r = 0;
END;

CREATE TRIGGER jn_right_delete AFTER DELETE ON jn_right BEGIN
    UPDATE jn_counts SET r = r - 1 WHERE key = old.key;
    DELETE FROM jn_counts WHERE key = old.key AND l = 0 AND r = 0;
END;

-- name: answer_triggers
SELECT count(*)                        AS keys,
       coalesce(sum(pairs), 0)         AS pairs,
       coalesce(sum(pairs * pairs), 0) AS pairs_sq_sum
  FROM jn_counts
 WHERE pairs > 0;

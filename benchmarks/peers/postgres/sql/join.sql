-- PostgreSQL peer, join: the number of joined pairs per key of two bags of
-- (key, value) rows, jn_left and jn_right.

-- name: schema
CREATE TABLE jn_left  (key bigint NOT NULL, value bigint NOT NULL);
CREATE TABLE jn_right (key bigint NOT NULL, value bigint NOT NULL);

-- name: index
CREATE INDEX jn_left_key_value  ON jn_left  (key, value);
CREATE INDEX jn_right_key_value ON jn_right (key, value);

-- name: answer_recompute
WITH per_key(key, pairs) AS (
    SELECT l.key, count(*)
      FROM jn_left AS l JOIN jn_right AS r ON r.key = l.key
     GROUP BY l.key
)
SELECT count(*)                            AS keys,
       coalesce(sum(pairs), 0)             AS pairs,
       coalesce(sum(pairs::numeric * pairs), 0) AS pairs_sq_sum
  FROM per_key;

-- name: triggers
-- jn_counts holds, per key, the number of rows on each side, kept by
-- statement-level triggers over the transition tables; a key's pairs are
-- their product (a generated column).
CREATE TABLE jn_counts (
    key   bigint PRIMARY KEY,
    l     bigint NOT NULL DEFAULT 0,
    r     bigint NOT NULL DEFAULT 0,
    pairs bigint GENERATED ALWAYS AS (l * r) STORED
);

CREATE FUNCTION jn_left_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO jn_counts AS c (key, l)
        SELECT key, count(*) FROM inserted GROUP BY key
        ON CONFLICT (key) DO UPDATE SET l = c.l + excluded.l;
    ELSE
        UPDATE jn_counts AS c SET l = c.l - d.n
          FROM (SELECT key, count(*) AS n FROM deleted GROUP BY key) AS d
         WHERE c.key = d.key;
        DELETE FROM jn_counts AS c USING (SELECT DISTINCT key FROM deleted) AS d
         WHERE c.key = d.key AND c.l = 0 AND c.r = 0;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION jn_right_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO jn_counts AS c (key, r)
        SELECT key, count(*) FROM inserted GROUP BY key
        ON CONFLICT (key) DO UPDATE SET r = c.r + excluded.r;
    ELSE
        UPDATE jn_counts AS c SET r = c.r - d.n
          FROM (SELECT key, count(*) AS n FROM deleted GROUP BY key) AS d
         WHERE c.key = d.key;
        DELETE FROM jn_counts AS c USING (SELECT DISTINCT key FROM deleted) AS d
         WHERE c.key = d.key AND c.l = 0 AND c.r = 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER jn_left_insert AFTER INSERT ON jn_left
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION jn_left_changed();
CREATE TRIGGER jn_left_delete AFTER DELETE ON jn_left
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION jn_left_changed();
CREATE TRIGGER jn_right_insert AFTER INSERT ON jn_right
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION jn_right_changed();
CREATE TRIGGER jn_right_delete AFTER DELETE ON jn_right
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION jn_right_changed();

-- name: answer_triggers
SELECT count(*)                               AS keys,
       coalesce(sum(pairs), 0)                AS pairs,
       coalesce(sum(pairs::numeric * pairs), 0) AS pairs_sq_sum
  FROM jn_counts
 WHERE pairs > 0;

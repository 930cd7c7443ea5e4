-- PostgreSQL peer: applying a round's changes to a bag table.
--
-- Every base table is a bag: one row per copy, and a removal deletes one
-- copy. A round's change lines are COPYed into a temporary staging table
-- (emptied at each commit), then applied set-wise: all its insertions, then
-- all its removals (a round may remove a row it inserted itself; the bag
-- after the round does not depend on the order). {table}, {a}, {b} (the
-- table and its two columns) and {chg} (the staging table) are filled in by
-- the driver.

-- name: staging
CREATE TEMPORARY TABLE {chg} (
    diff integer NOT NULL,
    a    bigint  NOT NULL,
    b    bigint  NOT NULL
) ON COMMIT DELETE ROWS;

-- name: copy
COPY {chg} (diff, a, b) FROM STDIN WITH (DELIMITER ' ');

-- name: insert
INSERT INTO {table} ({a}, {b}) SELECT a, b FROM {chg} WHERE diff > 0;

-- name: delete_one
-- For each (a, b) removed n times, delete n of its copies (any n: they are
-- equal), picked by ctid.
DELETE FROM {table} AS t
 USING (SELECT numbered.ctid
          FROM (SELECT t.ctid,
                       row_number() OVER (PARTITION BY t.{a}, t.{b}) AS copy,
                       removed.n
                  FROM {table} AS t
                  JOIN (SELECT a, b, count(*) AS n FROM {chg} WHERE diff < 0 GROUP BY a, b)
                       AS removed ON t.{a} = removed.a AND t.{b} = removed.b) AS numbered
         WHERE numbered.copy <= numbered.n) AS gone
 WHERE t.ctid = gone.ctid;

-- SQLite peer, cc: connected components of the undirected graph, recomputed
-- from scratch.
--
-- SQLite allows no aggregate or window function in a recursive term, so the
-- label-propagation fixpoint cannot be one statement (the PostgreSQL peer's
-- is). Instead, components are found in increasing order of their smallest
-- node: the driver takes the smallest endpoint not yet labelled (next_seed),
-- a recursive CTE collects everything reachable from it over the edges read
-- both ways (component), and labels it with that seed; until no endpoint is
-- left.

-- name: schema
CREATE TABLE cc_node  (node INTEGER PRIMARY KEY);
CREATE TABLE cc_label (node INTEGER PRIMARY KEY, label INTEGER NOT NULL);

-- name: index
CREATE INDEX edges_dst_src ON edges (dst, src);

-- name: prepare
DELETE FROM cc_label;
DELETE FROM cc_node;
INSERT INTO cc_node (node) SELECT src FROM edges UNION SELECT dst FROM edges;

-- name: next_seed
SELECT n.node FROM cc_node AS n
 WHERE n.node > :after
   AND NOT EXISTS (SELECT 1 FROM cc_label AS l WHERE l.node = n.node)
 ORDER BY n.node LIMIT 1;

-- name: component
WITH RECURSIVE reach(node) AS (
    SELECT :seed
  UNION
    SELECT e.dst FROM reach AS r JOIN edges AS e ON e.src = r.node
  UNION
    SELECT e.src FROM reach AS r JOIN edges AS e ON e.dst = r.node
)
INSERT INTO cc_label (node, label) SELECT node, :seed FROM reach;

-- name: answer
SELECT count(*)                AS nodes,
       count(DISTINCT label)   AS components,
       coalesce(sum(label), 0) AS label_sum
  FROM cc_label;

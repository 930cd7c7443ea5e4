-- PostgreSQL peer, bfs: hop distance from node 0, recomputed from scratch.
--
-- A recursive CTE walks the graph level by level; UNION drops a repeated
-- (node, dist) row, but on a cyclic graph the walk would go on forever with
-- growing distances, so it stops at %(cap)s hops. A node's distance is its
-- smallest dist. The answer is exact when no node's distance equals the cap
-- (then no node is that far or farther); the driver checks the returned
-- max_dist and runs the query again with a larger cap if needed.

-- name: answer
WITH RECURSIVE walk(node, dist) AS (
    SELECT 0::bigint, 0
  UNION
    SELECT e.dst, w.dist + 1
      FROM walk AS w JOIN edges AS e ON e.src = w.node
     WHERE w.dist < %(cap)s
),
distance(node, dist) AS (
    SELECT node, min(dist) FROM walk GROUP BY node
)
SELECT count(*)               AS reachable,
       coalesce(sum(dist), 0) AS distance_sum,
       coalesce(max(dist), 0) AS max_dist
  FROM distance;

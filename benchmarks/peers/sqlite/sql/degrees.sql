-- SQLite peer, degrees: out-degree per node, then the count of nodes per
-- degree (a count of a count), recomputed from scratch.

-- name: answer
WITH degree(node, deg) AS (
    SELECT src, count(*) FROM edges GROUP BY src
),
histogram(deg, nodes) AS (
    SELECT deg, count(*) FROM degree GROUP BY deg
)
SELECT coalesce(sum(nodes), 0)             AS nodes,
       count(*)                            AS distinct_degrees,
       coalesce(max(deg), 0)               AS max_degree,
       coalesce(sum(nodes * deg * deg), 0) AS degree_sq_sum
  FROM histogram;

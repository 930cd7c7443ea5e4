-- SQLite peer: the edge multiset of bfs, degrees and cc.
-- A table is a bag: one row per edge copy; a removal deletes one copy.

-- name: schema
CREATE TABLE edges (src INTEGER NOT NULL, dst INTEGER NOT NULL);

-- name: index
CREATE INDEX edges_src_dst ON edges (src, dst);

-- name: insert
INSERT INTO edges (src, dst) VALUES (?, ?);

-- name: delete_one
DELETE FROM edges
 WHERE rowid = (SELECT rowid FROM edges WHERE src = ? AND dst = ? LIMIT 1);

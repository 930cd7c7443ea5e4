-- PostgreSQL peer: the edge bag of bfs, degrees and cc (one row per copy).

-- name: schema
CREATE TABLE edges (src bigint NOT NULL, dst bigint NOT NULL);

-- name: load
COPY edges (src, dst) FROM STDIN WITH (DELIMITER ' ');

-- name: index
CREATE INDEX edges_src_dst ON edges (src, dst);

-- The ruvector_attention index: the plan's statement, the four operator
-- classes, recall on the real demo table (3000 package descriptions,
-- all-MiniLM-L6-v2) against the idx_exact scan, filters, writes, VACUUM, the
-- checking function, and every bad input.
SET extra_float_digits = 0;
CREATE TABLE idx_documents (id serial PRIMARY KEY, package text, title text, body text,
                        embedding ruvector(384), category int);
\copy idx_documents (package, title, body, embedding) FROM PROGRAM 'gzip -dc "$PG_ABS_SRCDIR/../../data/debian_packages.csv.gz"' WITH (FORMAT csv, HEADER)
-- Five per cent of the rows in each category.
UPDATE idx_documents SET category = id % 20;
-- Queries that are not rows: the sums of two idx_documents.
CREATE TABLE idx_queries AS
  SELECT d.id, d.embedding + e.embedding AS embedding
  FROM idx_documents d JOIN idx_documents e ON e.id = d.id + 1500 WHERE d.id <= 100;
-- The exact top 10 of each, by a sequential scan (before any index exists).
CREATE TABLE idx_exact AS
  SELECT q.id AS qid, t.id FROM idx_queries q,
  LATERAL (SELECT id FROM idx_documents ORDER BY embedding <#> q.embedding LIMIT 10) t;

-- recall@10 of the ORDER BY ... LIMIT 10 the planner runs, against the exact top 10.
CREATE FUNCTION recall() RETURNS float LANGUAGE sql AS $$
  SELECT count(*)::float / (SELECT count(*) FROM idx_exact)
  FROM idx_queries q, LATERAL (SELECT id FROM idx_documents ORDER BY embedding <#> q.embedding LIMIT 10) t, idx_exact e
  WHERE e.qid = q.id AND e.id = t.id $$;

-- A build that outgrows maintenance_work_mem says so, goes on inserting
-- on disk, and gives an index as good.
SET maintenance_work_mem = '1MB';
CREATE INDEX small_memory ON idx_documents USING ruvector_attention (embedding);
RESET maintenance_work_mem;
SELECT live_nodes, reachable_nodes = live_nodes AS all_reachable, heap_tuples FROM ruvector_index_check('small_memory');
SELECT recall() >= 0.95 AS recall_ok;
DROP INDEX small_memory;

-- The plan's first statement, as written: inner product (the default class).
CREATE INDEX documents_embedding ON idx_documents USING ruvector_attention (embedding)
WITH (attention_type = 'flash', num_heads = 8, head_dim = 48);
SELECT ruvector_index_info('documents_embedding') - 'pages';
SELECT * FROM ruvector_index_check('documents_embedding');
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10;

-- Recall@10 at the default ef_search, against the idx_exact scan.
SHOW ruvector_jit.ef_search;
SELECT recall() >= 0.95 AS recall_ok;
-- ef_search trades speed for recall (BENCHMARKS.md measures both).
SET ruvector_jit.ef_search = 100;
SELECT recall() >= 0.98 AS recall_at_100;
RESET ruvector_jit.ef_search;

-- The plan's own form, ORDER BY ruvector_attention_score(...) DESC LIMIT k,
-- is rewritten to <#> (scaled_dot) or <=> (cosine) before planning, so the
-- index serves it: the same rows as the operator form. The column may hold
-- NULLs, so it needs DESC NULLS LAST (plain DESC puts NULL scores first).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id, ruvector_attention_score(embedding, (SELECT embedding FROM idx_queries WHERE id = 1),
  'scaled_dot') AS score FROM idx_documents ORDER BY score DESC NULLS LAST LIMIT 10;
SELECT array_agg(t.id ORDER BY t.ord) = (SELECT array_agg(id) FROM (SELECT id FROM idx_documents
  ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10) e) AS same_rows
FROM (SELECT id, row_number() OVER () AS ord FROM (SELECT id FROM idx_documents
  ORDER BY ruvector_attention_score((SELECT embedding FROM idx_queries WHERE id = 1), embedding) DESC NULLS LAST
  LIMIT 10) s) t;
-- Recall through the score form, in a LATERAL subquery, as the plan writes it.
SELECT count(*)::float / (SELECT count(*) FROM idx_exact) >= 0.95 AS score_form_recall
FROM idx_queries q, LATERAL (SELECT id FROM idx_documents
  ORDER BY ruvector_attention_score(embedding, q.embedding, 'scaled_dot') DESC NULLS LAST LIMIT 10) t, idx_exact e
WHERE e.qid = q.id AND e.id = t.id;
-- Where the orders could differ, the sort stays: DESC on a nullable column,
-- another attention type, a vector made from the row's own columns.
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents
ORDER BY ruvector_attention_score(embedding, '[1,2]', 'scaled_dot') DESC LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents
ORDER BY ruvector_attention_score(embedding, (SELECT embedding FROM idx_queries WHERE id = 1), 'poincare') DESC NULLS LAST LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents
ORDER BY ruvector_attention_score(embedding, embedding + embedding, 'scaled_dot') DESC NULLS LAST LIMIT 10;
-- ... and a second sort key, which would see ties differently.
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents
ORDER BY ruvector_attention_score(embedding, '[1,2]', 'scaled_dot') DESC NULLS LAST, id LIMIT 10;
RESET enable_seqscan;

-- exact := false: ruvector_mha_search and ruvector_cross_attention take their
-- candidates from the index and re-rank them exactly (recall@10 against the
-- exact functions); the weights are normalised over the candidates, so they
-- are larger than the exact ones.
ALTER TABLE idx_queries ADD PRIMARY KEY (id);
CREATE TABLE idx_mha AS SELECT q.id AS qid, r.id, r.score FROM idx_queries q,
  LATERAL ruvector_mha_search('idx_documents', q.embedding, num_heads := 8, k := 10) r;
SELECT count(*)::float / (SELECT count(*) FROM idx_mha) >= 0.9 AS mha_recall,
       bool_and(r.score > e.score) AS weights_over_candidates_are_larger
FROM idx_queries q, LATERAL ruvector_mha_search('idx_documents', q.embedding, num_heads := 8, k := 10, exact := false) r
JOIN idx_mha e ON e.id = r.id WHERE e.qid = q.id;
CREATE TABLE idx_cross AS SELECT * FROM ruvector_cross_attention('idx_queries', 'embedding', 'idx_documents', 'embedding',
  'scaled_dot', k := 10) AS (qid int, id int, score float);
SELECT count(*)::float / (SELECT count(*) FROM idx_cross) >= 0.9 AS cross_recall
FROM ruvector_cross_attention('idx_queries', 'embedding', 'idx_documents', 'embedding', 'scaled_dot', k := 10,
  exact := false) AS r (qid int, id int, score float) JOIN idx_cross e USING (qid, id);
-- Each query's approximate weights sum to at most 1 (over its candidates).
SELECT max(s) <= 1.000001 AS at_most_one FROM (SELECT qid, sum(score) AS s FROM ruvector_cross_attention('idx_queries',
  'embedding', 'idx_documents', 'embedding', k := 10, exact := false) AS r (qid int, id int, score float) GROUP BY qid) t;

-- A selective filter (5 %) still gets its 10 rows: the scan goes on past ef.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents WHERE category = 3
ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10;
SELECT count(*), bool_and(category = 3) FROM (SELECT id, category FROM idx_documents WHERE category = 3
  ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10) t;
-- Past the first round the rows still come nearest first (100 rows, many rounds).
SELECT count(*) AS rows, bool_and(d >= prev) AS in_order FROM (
  SELECT d, lag(d, 1, '-Infinity') OVER () AS prev FROM (SELECT embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) AS d
  FROM idx_documents WHERE category = 3 ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 100) s) t;
-- ... and as many as the filter has, when it has fewer than LIMIT.
SELECT count(*) FROM (SELECT id FROM idx_documents WHERE id % 1000 = 7
  ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10) t;
-- ruvector_jit.max_scan_tuples bounds the walk.
SET ruvector_jit.max_scan_tuples = 30;
SELECT count(*) FROM (SELECT id FROM idx_documents WHERE category = 3
  ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10) t;
RESET ruvector_jit.max_scan_tuples;
-- A NULL query: every distance is NULL, every row comes back.
SELECT count(*) FROM (SELECT id FROM idx_documents ORDER BY embedding <#> NULL LIMIT 5000) t;
RESET enable_seqscan;
-- The index serves its own operator only: <-> and <=> scan the table.
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents ORDER BY embedding <-> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents ORDER BY embedding <=> (SELECT embedding FROM idx_queries WHERE id = 1) LIMIT 10;
-- Without LIMIT the sort over the table stays cheaper.
EXPLAIN (COSTS OFF) SELECT id FROM idx_documents ORDER BY embedding <#> (SELECT embedding FROM idx_queries WHERE id = 1);

-- Writes keep it current: INSERT, UPDATE, COPY; NULLs are not indexed.
INSERT INTO idx_documents (package, embedding, category)
  SELECT 'copy of ' || package, embedding, 3 FROM idx_documents WHERE id <= 200;
UPDATE idx_documents SET embedding = embedding + embedding WHERE id BETWEEN 201 AND 300;
INSERT INTO idx_documents (package, embedding) VALUES ('no embedding', NULL);
COPY idx_documents (package, embedding) FROM STDIN;
copied	[0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05]
\.
SELECT * FROM ruvector_index_check('documents_embedding');
-- Every written row is found by an exact probe through the index: its own
-- vector's nearest under ef_search = 100 includes it.
SET enable_seqscan = off;
SET ruvector_jit.ef_search = 100;
SELECT count(*) AS probes, count(*) FILTER (WHERE found) AS found FROM (
  SELECT d.id, d.id IN (SELECT id FROM idx_documents ORDER BY embedding <#> d.embedding LIMIT 100) AS found
  FROM idx_documents d WHERE (d.id > 3000 OR d.id BETWEEN 201 AND 300) AND d.embedding IS NOT NULL) t;
RESET ruvector_jit.ef_search;
RESET enable_seqscan;

-- Delete half and VACUUM: nothing deleted comes back, recall holds, the
-- check passes with no marked node left.
DELETE FROM idx_documents WHERE id % 2 = 0;
DELETE FROM idx_exact WHERE id % 2 = 0;
VACUUM idx_documents;
SELECT live_nodes, marked_nodes, reachable_nodes = live_nodes AS all_reachable, heap_tuples
FROM ruvector_index_check('documents_embedding');
SET enable_seqscan = off;
SELECT count(*) AS deleted_rows_returned FROM idx_queries q,
  LATERAL (SELECT id FROM idx_documents ORDER BY embedding <#> q.embedding LIMIT 10) t WHERE t.id % 2 = 0;
RESET enable_seqscan;
-- The exact top 10 after the delete, against the index.
CREATE TABLE idx_exact_after (qid int, id int);
SET enable_indexscan = off;
INSERT INTO idx_exact_after SELECT q.id, t.id FROM idx_queries q,
  LATERAL (SELECT id FROM idx_documents ORDER BY embedding <#> q.embedding LIMIT 10) t;
RESET enable_indexscan;
SELECT count(*)::float / (SELECT count(*) FROM idx_exact_after) >= 0.95 AS recall_after_vacuum
FROM idx_queries q, LATERAL (SELECT id FROM idx_documents ORDER BY embedding <#> q.embedding LIMIT 10) t, idx_exact_after e
WHERE e.qid = q.id AND e.id = t.id;
-- Inserts after VACUUM.
INSERT INTO idx_documents (package, embedding) SELECT 'again ' || id, embedding FROM idx_queries;
SELECT live_nodes, marked_nodes, reachable_nodes = live_nodes AS all_reachable FROM ruvector_index_check('documents_embedding');

-- Cosine: <=> with ruvector_cosine_ops. Zero vectors have no direction and
-- are not indexed (as pgvector); their distance is NaN anyway.
CREATE TABLE idx_small (id int, v ruvector(3));
INSERT INTO idx_small VALUES (1, '[1,0,0]'), (2, '[0,1,0]'), (3, '[1,1,0]'), (4, '[0,0,0]'), (5, NULL), (6, '[-1,0,0]');
CREATE INDEX small_cos ON idx_small USING ruvector_attention (v ruvector_cosine_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM idx_small ORDER BY v <=> '[1,0.1,0]' LIMIT 3;
SELECT id, round((v <=> '[1,0.1,0]')::numeric, 4) FROM idx_small ORDER BY v <=> '[1,0.1,0]' LIMIT 3;
SELECT * FROM ruvector_index_check('small_cos');
-- ... and the score form with cosine becomes <=>.
EXPLAIN (COSTS OFF) SELECT id FROM idx_small ORDER BY ruvector_attention_score(v, '[1,0.1,0]', 'cosine') DESC NULLS LAST LIMIT 3;
SELECT id FROM idx_small ORDER BY ruvector_attention_score(v, '[1,0.1,0]', 'cosine') DESC NULLS LAST LIMIT 3;
DROP INDEX small_cos;
-- L2: <->.
CREATE INDEX small_l2 ON idx_small USING ruvector_attention (v ruvector_l2_ops) WITH (attention_type = 'l2', m = 4, ef_construction = 8);
EXPLAIN (COSTS OFF) SELECT id FROM idx_small ORDER BY v <-> '[0.9,0.2,0]' LIMIT 3;
SELECT id FROM idx_small ORDER BY v <-> '[0.9,0.2,0]' LIMIT 3;
DROP INDEX small_l2;
-- Poincare: <~>, the distance at curvature -1 ...
CREATE TABLE idx_ball (id int, p ruvector(2));
INSERT INTO idx_ball SELECT i, ARRAY[0.9 * cos(i), 0.9 * sin(i) * (i % 3) / 3.0]::real[]::ruvector FROM generate_series(1, 200) i;
CREATE INDEX ball_poincare ON idx_ball USING ruvector_attention (p ruvector_poincare_ops);
EXPLAIN (COSTS OFF) SELECT id FROM idx_ball ORDER BY p <~> '[0.1,0.2]' LIMIT 5;
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM idx_ball ORDER BY ruvector_hyperbolic_distance(p, '[0.1,0.2]', 1), id LIMIT 5) e)
FROM (SELECT id FROM idx_ball ORDER BY p <~> '[0.1,0.2]' LIMIT 5) t;
-- ... and curvature -c through an expression index over sqrt(c) x: the same
-- ranking as ruvector_hyperbolic_distance(x, q, c).
CREATE INDEX ball_c2 ON idx_ball USING ruvector_attention (ruvector_poincare_rescale(p, 0.5) ruvector_poincare_ops);
EXPLAIN (COSTS OFF) SELECT id FROM idx_ball
ORDER BY ruvector_poincare_rescale(p, 0.5) <~> ruvector_poincare_rescale('[0.1,0.2]', 0.5) LIMIT 5;
SELECT array_agg(id) = (SELECT array_agg(id) FROM (SELECT id FROM idx_ball ORDER BY ruvector_hyperbolic_distance(p, '[0.1,0.2]', 0.5), id LIMIT 5) e)
FROM (SELECT id FROM idx_ball ORDER BY ruvector_poincare_rescale(p, 0.5) <~> ruvector_poincare_rescale('[0.1,0.2]', 0.5) LIMIT 5) t;
RESET enable_seqscan;
-- Points outside the ball cannot be indexed.
INSERT INTO idx_ball VALUES (999, '[0.8,0.7]');
SELECT id FROM idx_ball ORDER BY p <~> '[0.8,0.7]' LIMIT 1;

-- Bad options, each named with what is allowed.
CREATE INDEX ON idx_documents USING ruvector_attention (embedding) WITH (attention_type = 'softmax');
CREATE INDEX ON idx_documents USING ruvector_attention (embedding) WITH (attention_type = 'cosine');
CREATE INDEX ON idx_documents USING ruvector_attention (embedding ruvector_l2_ops) WITH (attention_type = 'flash');
CREATE INDEX ON idx_documents USING ruvector_attention (embedding) WITH (num_heads = 8, head_dim = 64);
CREATE INDEX ON idx_documents USING ruvector_attention (embedding) WITH (num_heads = 8);
CREATE INDEX ON idx_documents USING ruvector_attention (embedding) WITH (m = 1);
CREATE INDEX ON idx_documents USING ruvector_attention (embedding) WITH (m = 16, ef_construction = 20);
CREATE INDEX ON idx_documents USING ruvector_attention (embedding) WITH (nonsense = 1);
CREATE INDEX ON idx_documents USING ruvector_attention (id);
CREATE INDEX ON idx_documents USING ruvector_attention (embedding, category);
CREATE UNIQUE INDEX ON idx_documents USING ruvector_attention (embedding);
-- Dims: 1536 works; past the page's limit is a clear error.
CREATE TABLE idx_wide (id int, v ruvector(1536));
INSERT INTO idx_wide SELECT i, array_fill(i::real / 100, ARRAY[1536])::ruvector FROM generate_series(1, 20) i;
CREATE INDEX wide_idx ON idx_wide USING ruvector_attention (v ruvector_l2_ops);
SELECT ruvector_index_info('wide_idx') -> 'max_dims' AS max_dims;
SELECT * FROM ruvector_index_check('wide_idx');
CREATE TABLE idx_too_wide (v ruvector(1960));
CREATE INDEX ON idx_too_wide USING ruvector_attention (v);
-- An unconstrained column takes its dims from the first row; others are refused.
CREATE TABLE idx_free_dims (v ruvector);
CREATE INDEX free_dims_idx ON idx_free_dims USING ruvector_attention (v);
INSERT INTO idx_free_dims VALUES ('[1,2,3]'), ('[3,2,1]');
INSERT INTO idx_free_dims VALUES ('[1,2]');
SELECT v FROM idx_free_dims ORDER BY v <#> '[1,1,1]' LIMIT 1;
SELECT v FROM idx_free_dims ORDER BY v <#> '[1,1]' LIMIT 1;
-- Unlogged tables get an init fork.
CREATE UNLOGGED TABLE idx_scratch (v ruvector(2));
CREATE INDEX ON idx_scratch USING ruvector_attention (v);
INSERT INTO idx_scratch VALUES ('[1,2]');
SELECT v FROM idx_scratch ORDER BY v <#> '[1,1]' LIMIT 1;
-- The check and the info are the table owner's (and a reader's) business.
CREATE ROLE rvj_index_stranger;
SET ROLE rvj_index_stranger;
SELECT * FROM ruvector_index_check('documents_embedding');
SELECT ruvector_index_info('documents_embedding');
RESET ROLE;
DROP ROLE rvj_index_stranger;
SELECT ruvector_index_check('idx_documents');
SELECT ruvector_index_check('idx_documents_pkey');

-- ruvector_mha_search and ruvector_cross_attention over tables: the plan's
-- calls as written, exact against torch and numpy (tests/fixtures/
-- table_search.sql, scripts/gen_table_fixtures.py), ids and scores as the
-- caller asks, safety (quoting, privileges, row-level security), partitions,
-- views, parallel scans and bounded memory.
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/table_search.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

-- The plan's calls, as written (with ruvector where the plan has vector).
CREATE TABLE documents (id int PRIMARY KEY, content text, embedding ruvector(16));
INSERT INTO documents SELECT id, 'doc ' || id, embedding FROM ts_docs;
CREATE TABLE queries (id int PRIMARY KEY, embedding ruvector(16));
INSERT INTO queries SELECT * FROM ts_queries;
SELECT embedding AS query_embedding FROM queries WHERE id = 1 \gset
SELECT id, content, ruvector_attention_score(embedding, :'query_embedding', 'scaled_dot') AS score
FROM documents ORDER BY score DESC LIMIT 3;
SELECT * FROM ruvector_mha_search(table_name := 'documents', query := :'query_embedding', num_heads := 8, k := 10);
SET extra_float_digits = -5;  -- float8 to 10 digits: well above the rounding of the sums
SELECT query_id, doc_id, score FROM ruvector_cross_attention(
  query_table := 'queries', query_column := 'embedding',
  document_table := 'documents', document_column := 'embedding',
  attention_type := 'scaled_dot') AS (query_id int, doc_id int, score float)
ORDER BY query_id, score DESC LIMIT 12;
SET extra_float_digits = 0;

-- Exact: head-averaged weights against torch.nn.MultiheadAttention (every
-- expected row found, relative error below 1e-5).
SELECT e.heads, count(r.id) AS found, count(*) AS expected, max(abs(r.score - e.weight) / e.weight) < 1e-5 AS exact
FROM ts_expected_mha e
LEFT JOIN LATERAL ruvector_mha_search('ts_docs', (SELECT embedding FROM ts_queries WHERE id = 1),
                                      num_heads := e.heads, k := e.k) r ON r.id = e.id
GROUP BY e.heads ORDER BY e.heads;
-- ... and the ranking: the returned order is by weight.
SELECT array_agg(id ORDER BY ord) = (SELECT array_agg(id ORDER BY weight DESC) FROM ts_expected_mha WHERE heads = 4)
  AS same_order
FROM ruvector_mha_search('ts_docs', (SELECT embedding FROM ts_queries WHERE id = 1), 4, 5) WITH ORDINALITY r(id, score, ord);

-- Cross-attention weights against numpy, three attention types.
SELECT e.attention_type, count(r.doc_id) AS found, count(*) AS expected,
       max(abs(r.score - e.weight) / e.weight) < 1e-5 AS exact
FROM ts_expected_cross e LEFT JOIN (
  SELECT 'scaled_dot' AS t, * FROM ruvector_cross_attention('ts_queries', 'embedding', 'ts_docs', 'embedding',
                                                             'scaled_dot', 3) AS (query_id int, doc_id int, score float)
  UNION ALL
  SELECT 'cosine', * FROM ruvector_cross_attention('ts_queries', 'embedding', 'ts_docs', 'embedding', 'cosine', 4,
                                                    params := '{"tau": 2}') AS (query_id int, doc_id int, score float)
  UNION ALL
  SELECT 'poincare', * FROM ruvector_cross_attention('ts_ball_queries', 'embedding', 'ts_ball_docs', 'embedding',
                                                      'poincare', 3, params := '{"c": 0.5, "beta": 1.5, "gamma": 0.25}')
                            AS (query_id int, doc_id int, score float)
) r ON r.t = e.attention_type AND r.query_id = e.query_id AND r.doc_id = e.doc_id
GROUP BY 1 ORDER BY 1;
-- Every per-row type works: lorentz (hyperboloid points) against the softmax
-- of ruvector_attention_score over all documents.
CREATE TABLE hyper (id int PRIMARY KEY, embedding ruvector(4));
INSERT INTO hyper SELECT i, ARRAY[sqrt(1 + sin(i) ^ 2 + cos(i * 1.3) ^ 2 + (0.5 * sin(i * 0.7)) ^ 2),
                                  sin(i), cos(i * 1.3), 0.5 * sin(i * 0.7)]::real[]::ruvector
  FROM generate_series(1, 30) i;
WITH logits AS (
  SELECT q.id AS qid, d.id AS did, ruvector_attention_score(q.embedding, d.embedding, 'lorentz')::float8 AS l
  FROM hyper q, hyper d),
normalisers AS (
  SELECT qid, max(l) + ln(sum(exp(l - (SELECT max(l) FROM logits x WHERE x.qid = logits.qid)))) AS lse
  FROM logits GROUP BY qid)
SELECT count(*) AS rows, max(abs(r.score - exp(lg.l - n.lse)) / exp(lg.l - n.lse)) < 1e-5 AS exact
FROM ruvector_cross_attention('hyper', NULL, 'hyper', NULL, 'lorentz', 2) AS r(qid int, did int, score float)
JOIN logits lg USING (qid, did) JOIN normalisers n USING (qid);

-- The column definition list decides the types: ids as int, bigint or
-- text, scores as real or float8.
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding', k := 1)
  AS (query_id bigint, doc_id text, score real) ORDER BY query_id;
SELECT pg_typeof(q), pg_typeof(d), pg_typeof(s) FROM ruvector_cross_attention('queries', 'embedding', 'documents',
  'embedding', k := 1) AS (q smallint, d varchar, s double precision) LIMIT 1;
-- Lists that do not fit.
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding') AS (q int, d int);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding') AS (q int, d int, s numeric);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding') AS (q int, d uuid, s real);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding');
-- Text ids come back as text (and cannot be asked for as integers).
CREATE TABLE named_docs (name text PRIMARY KEY, embedding ruvector(16));
INSERT INTO named_docs SELECT 'doc-' || id, embedding FROM ts_docs;
SELECT query_id, doc_id, round(score::numeric, 6) AS score
FROM ruvector_cross_attention('queries', 'embedding', 'named_docs', 'embedding', k := 2)
  AS (query_id int, doc_id text, score float) ORDER BY query_id, score DESC;
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'named_docs', 'embedding')
  AS (query_id int, doc_id int, score float);
-- Ids out of the asked type's range.
CREATE TABLE big_ids (id bigint PRIMARY KEY, embedding ruvector(16));
INSERT INTO big_ids SELECT 10000000000 + id, embedding FROM ts_docs;
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'big_ids', 'embedding')
  AS (query_id int, doc_id int, score float);
SELECT count(*) FROM ruvector_cross_attention('queries', 'embedding', 'big_ids', 'embedding')
  AS (query_id int, doc_id bigint, score float);

-- Defaults: the single ruvector column, the single-column primary key.
SELECT count(*) FROM ruvector_mha_search('documents', :'query_embedding', 2, 5);
CREATE TABLE two_vectors (id int PRIMARY KEY, a ruvector(16), b ruvector(16));
INSERT INTO two_vectors SELECT id, embedding, embedding FROM ts_docs;
SELECT * FROM ruvector_mha_search('two_vectors', :'query_embedding');
SELECT count(*) FROM ruvector_mha_search('two_vectors', :'query_embedding', column_name := 'b');
CREATE TABLE no_key (n int, embedding ruvector(16));
INSERT INTO no_key SELECT id, embedding FROM ts_docs;
SELECT * FROM ruvector_mha_search('no_key', :'query_embedding');
SELECT count(*) FROM ruvector_mha_search('no_key', :'query_embedding', id_column := 'n');
SELECT * FROM ruvector_mha_search('named_docs', :'query_embedding');
SELECT * FROM ruvector_mha_search('documents', :'query_embedding', column_name := 'content');
SELECT * FROM ruvector_mha_search('documents', :'query_embedding', column_name := 'missing');
SELECT * FROM ruvector_mha_search('documents_idx_missing', :'query_embedding');
SELECT * FROM ruvector_mha_search('documents_pkey', :'query_embedding');

-- Bad arguments: clear errors.
SELECT * FROM ruvector_mha_search('documents', :'query_embedding', num_heads := 3);
SELECT * FROM ruvector_mha_search('documents', :'query_embedding', k := 0);
SELECT * FROM ruvector_mha_search('documents', :'query_embedding', params := '{"tau": 1}');
SELECT * FROM ruvector_mha_search('documents', '[1,2,3]');
SELECT * FROM ruvector_mha_search('documents', NULL);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding', k := -1)
  AS (q int, d int, s float);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding',
  params := '{"num_heads": 8}') AS (q int, d int, s float);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding', 'multi_head')
  AS (q int, d int, s float);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding', 'cosine',
  params := '{"tau": -1}') AS (q int, d int, s float);
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'hyper', 'embedding')
  AS (q int, d int, s float);

-- No visible rows: an empty result. Rows without a vector take no part.
CREATE TABLE empty_docs (id int PRIMARY KEY, embedding ruvector(16));
SELECT count(*) FROM ruvector_mha_search('empty_docs', :'query_embedding');
SELECT count(*) FROM ruvector_cross_attention('queries', 'embedding', 'empty_docs', 'embedding')
  AS (q int, d int, s float);
INSERT INTO empty_docs VALUES (1, NULL), (2, :'query_embedding');
SELECT * FROM ruvector_mha_search('empty_docs', :'query_embedding');
-- Queries and documents may be the same table; exact := false is exact too
-- until an index offers a faster path (none does yet).
SELECT count(*), bool_and(q = d) AS self_first FROM ruvector_cross_attention('documents', 'embedding', 'documents',
  'embedding', k := 1, params := '{"tau": 10}', attention_type := 'cosine') AS (q int, d int, s float);
SELECT (SELECT array_agg(id) FROM ruvector_mha_search('documents', :'query_embedding', exact := false)) =
       (SELECT array_agg(id) FROM ruvector_mha_search('documents', :'query_embedding')) AS same;

-- No injection: hostile names are quoted.
CREATE TABLE "Robert'); DROP TABLE documents;--" ("id""" int PRIMARY KEY, "emb; DROP TABLE queries" ruvector(16));
INSERT INTO "Robert'); DROP TABLE documents;--" SELECT id, embedding FROM ts_docs;
SELECT count(*) FROM ruvector_mha_search('"Robert''); DROP TABLE documents;--"', :'query_embedding');
SELECT count(*) FROM ruvector_cross_attention('queries', 'embedding', '"Robert''); DROP TABLE documents;--"',
  'emb; DROP TABLE queries', document_id_column := 'id"') AS (q int, d int, s float);
SELECT count(*) FROM documents;
SELECT count(*) FROM queries;

-- Caller's rights: no SELECT, no search; row-level security hides rows from
-- the results and from the normalisers.
CREATE ROLE rvj_table_reader;
GRANT USAGE ON SCHEMA public TO rvj_table_reader;
SET ROLE rvj_table_reader;
SELECT * FROM ruvector_mha_search('documents', :'query_embedding');
SELECT * FROM ruvector_cross_attention('queries', 'embedding', 'documents', 'embedding') AS (q int, d int, s float);
RESET ROLE;
GRANT SELECT ON documents, queries TO rvj_table_reader;
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY odd_only ON documents FOR SELECT USING (id % 2 = 1);
CREATE TABLE odd_documents AS SELECT * FROM documents WHERE id % 2 = 1;
ALTER TABLE odd_documents ADD PRIMARY KEY (id);
SET ROLE rvj_table_reader;
SELECT count(*) AS visible, bool_and(id % 2 = 1) AS only_odd,
       round(sum(score)::numeric, 6) AS weight_sum FROM ruvector_mha_search('documents', :'query_embedding', 2, 100);
CREATE TEMP TABLE seen AS SELECT * FROM ruvector_mha_search('documents', :'query_embedding', 2, 5);
RESET ROLE;
SELECT count(*) AS rows, max(abs(s.score - o.score) / o.score) < 1e-6 AS same_as_visible_rows_alone
FROM seen s JOIN ruvector_mha_search('odd_documents', :'query_embedding', 2, 5) o USING (id);
DROP TABLE seen;
ALTER TABLE documents DISABLE ROW LEVEL SECURITY;
DROP POLICY odd_only ON documents;
REVOKE ALL ON documents, queries FROM rvj_table_reader;
REVOKE USAGE ON SCHEMA public FROM rvj_table_reader;
DROP ROLE rvj_table_reader;

-- Partitioned tables and views give what the plain table gives.
CREATE TABLE parted (id int PRIMARY KEY, embedding ruvector(16)) PARTITION BY RANGE (id);
CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (1) TO (21);
CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (21) TO (1000);
INSERT INTO parted SELECT id, embedding FROM ts_docs;
CREATE VIEW docs_view AS SELECT id AS doc, embedding FROM ts_docs;
SELECT (SELECT array_agg(id || ':' || score) FROM ruvector_mha_search('parted', :'query_embedding', 4, 5)) =
       (SELECT array_agg(id || ':' || score) FROM ruvector_mha_search('ts_docs', :'query_embedding', 4, 5))
  AS partitioned_same,
       (SELECT array_agg(id || ':' || score) FROM ruvector_mha_search('docs_view', :'query_embedding', 4, 5,
                                                                       id_column := 'doc')) =
       (SELECT array_agg(id || ':' || score) FROM ruvector_mha_search('ts_docs', :'query_embedding', 4, 5))
  AS view_same,
       (SELECT array_agg(q || ':' || d || ':' || s) FROM ruvector_cross_attention('queries', 'embedding', 'parted',
          'embedding', k := 3) AS (q int, d int, s float)) =
       (SELECT array_agg(q || ':' || d || ':' || s) FROM ruvector_cross_attention('queries', 'embedding', 'ts_docs',
          'embedding', k := 3) AS (q int, d int, s float))
  AS cross_partitioned_same;

-- Bounded memory: rows beyond work_mem take a second scan under the known
-- normalisers, with the same answer; a parallel scan gives it too.
CREATE TABLE many (id int PRIMARY KEY, embedding ruvector(16));
SELECT setseed(0.25);
INSERT INTO many SELECT i, ARRAY(SELECT random()::real - 0.5 FROM generate_series(1, 16 + i * 0))::ruvector
  FROM generate_series(1, 20000) i;
ANALYZE many;
CREATE TEMP TABLE in_memory AS SELECT * FROM ruvector_mha_search('many', :'query_embedding', 4, 10);
SET work_mem = '64kB';
SELECT count(*) AS rows, bool_and(m.score = r.score) AS same
FROM in_memory m JOIN ruvector_mha_search('many', :'query_embedding', 4, 10) r USING (id);
RESET work_mem;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) AS rows, max(abs(m.score - r.score) / m.score) < 1e-6 AS same
FROM in_memory m JOIN ruvector_mha_search('many', :'query_embedding', 4, 10) r USING (id);
EXPLAIN (COSTS OFF) SELECT ruvector_mha_scan(id, embedding, :'query_embedding', 4, 10) FROM many;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- Cross-attention queries in several blocks when work_mem is small: the
-- same answer as one block.
CREATE TEMP TABLE one_block AS SELECT * FROM ruvector_cross_attention('many', 'embedding', 'documents', 'embedding',
  k := 2) AS (q int, d int, s float);
SET work_mem = '1MB';
SELECT count(*) AS rows, bool_and(o.s = r.s) AS same
FROM one_block o JOIN ruvector_cross_attention('many', 'embedding', 'documents', 'embedding', k := 2)
  AS r(q int, d int, s float) USING (q, d);
SET work_mem = '64kB';
SELECT count(*) FROM ruvector_cross_attention('many', 'embedding', 'documents', 'embedding') AS r(q int, d int, s float);
RESET work_mem;

-- Cancellable: statement_timeout ends a long scan.
SET ruvector_jit.test_poll_delay = 20000;
SET statement_timeout = '100ms';
SELECT count(*) FROM ruvector_cross_attention('many', 'embedding', 'many', 'embedding') AS r(q int, d int, s float);
RESET ruvector_jit.test_poll_delay;
-- ruvector_mha_search scans through the executor, which checks for
-- interrupts on every row (a view that sleeps a little per row stands in
-- for a large table).
CREATE VIEW slow_many AS SELECT m.id, m.embedding FROM many m CROSS JOIN LATERAL pg_sleep(0.0001 + m.id * 0) s;
SELECT count(*) FROM ruvector_mha_search('slow_many', :'query_embedding', id_column := 'id');
RESET statement_timeout;

-- The labels: STABLE and PARALLEL RESTRICTED (they read tables through SPI).
SELECT proname, provolatile, proparallel, prosecdef FROM pg_proc
WHERE proname IN ('ruvector_mha_search', 'ruvector_cross_attention') ORDER BY 1;

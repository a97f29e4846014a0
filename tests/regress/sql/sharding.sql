-- The per-partition forms behind sharding (scripts/shard-test runs them over
-- real postgres_fdw shards): ruvector_search, ruvector_attend_state /
-- ruvector_attend_merge / ruvector_attend_table and the internal aggregates,
-- on plain and partitioned local tables; their results against the plain
-- SQL forms over the same rows; privileges, row-level security and errors.
SET extra_float_digits = 0;
CREATE TABLE sh_items (id bigint NOT NULL, embedding ruvector(3), val ruvector(2)) PARTITION BY HASH (id);
CREATE TABLE sh_items_0 PARTITION OF sh_items FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE sh_items_1 PARTITION OF sh_items FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE sh_items_2 PARTITION OF sh_items FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO sh_items SELECT i, ARRAY[cos(i), sin(i), (i % 7) / 7.0]::real[]::ruvector,
                            ARRAY[i, -i]::real[]::ruvector FROM generate_series(1, 60) i;
INSERT INTO sh_items VALUES (61, NULL, '[1,1]');
CREATE TABLE sh_flat AS SELECT * FROM sh_items;
ALTER TABLE sh_flat ADD PRIMARY KEY (id);
SELECT count(DISTINCT tableoid) AS partitions_used FROM sh_items;

-- ruvector_search per partition = ruvector_search over one table = the plain
-- ORDER BY ... LIMIT, for every metric (ids, and distances bit for bit).
SELECT * FROM ruvector_search('sh_items', '[1,0.2,0.1]', 4, column_name => 'embedding', id_column => 'id');
SELECT m,
  (SELECT array_agg((id, distance) ORDER BY distance, id) FROM ruvector_search('sh_items', '[0.3,0.9,0.2]', 7, m, column_name => 'embedding', id_column => 'id'))
  = (SELECT array_agg((id, distance) ORDER BY distance, id) FROM ruvector_search('sh_flat', '[0.3,0.9,0.2]', 7, m, column_name => 'embedding')) AS same_as_one_table
FROM unnest(ARRAY['inner_product', 'cosine', 'l2', '<#>', '<=>', '<->']) m;
SELECT (SELECT array_agg(id ORDER BY distance, id) FROM ruvector_search('sh_items', '[0.3,0.9,0.2]', 7, 'l2', column_name => 'embedding', id_column => 'id'))
     = (SELECT array_agg(id) FROM (SELECT id FROM sh_flat ORDER BY embedding <-> '[0.3,0.9,0.2]', id LIMIT 7) t) AS same_as_plain,
       (SELECT max(abs(s.distance - (f.embedding <-> '[0.3,0.9,0.2]')))
        FROM ruvector_search('sh_items', '[0.3,0.9,0.2]', 7, 'l2', column_name => 'embedding', id_column => 'id') s JOIN sh_flat f USING (id)) AS distance_error;
-- Poincaré: the points must lie inside the ball (val's do not).
SELECT * FROM ruvector_search('sh_items', '[0.1,0.1]', 2, 'poincare', column_name => 'val', id_column => 'id');
CREATE TABLE sh_ball (id int PRIMARY KEY, p ruvector(2));
INSERT INTO sh_ball VALUES (1, '[0.1,0.2]'), (2, '[-0.5,0.5]'), (3, '[0.7,0]');
SELECT * FROM ruvector_search('sh_ball', '[0.6,0.1]', 2, 'poincare');
-- k beyond the rows: every row with a vector; NULL vectors take no part.
SELECT count(*) AS rows_found, bool_and(id <> 61) AS no_null_row FROM ruvector_search('sh_items', '[1,0,0]', 100, column_name => 'embedding', id_column => 'id');
-- exact := false without an index runs ORDER BY <op> LIMIT k in each partition: the same rows.
SELECT (SELECT array_agg(id ORDER BY distance, id) FROM ruvector_search('sh_items', '[1,0,0]', 5, column_name => 'embedding', id_column => 'id', exact => false))
     = (SELECT array_agg(id ORDER BY distance, id) FROM ruvector_search('sh_items', '[1,0,0]', 5, column_name => 'embedding', id_column => 'id')) AS same;
-- ... and with an index on the partitions, its candidates.
CREATE INDEX ON sh_items USING ruvector_attention (embedding);
SELECT count(*) FROM ruvector_search('sh_items', '[1,0,0]', 5, column_name => 'embedding', id_column => 'id', exact => false);
-- An empty partitioned table, and one whose partitions have no vectors.
CREATE TABLE sh_empty (id bigint, e ruvector(3)) PARTITION BY HASH (id);
SELECT count(*) FROM ruvector_search('sh_empty', '[1,0,0]', 3, id_column => 'id');
CREATE TABLE sh_empty_0 PARTITION OF sh_empty FOR VALUES WITH (MODULUS 1, REMAINDER 0);
INSERT INTO sh_empty VALUES (1, NULL);
SELECT count(*) FROM ruvector_search('sh_empty', '[1,0,0]', 3, id_column => 'id');

-- Errors: each says what was wrong and what is allowed.
SELECT * FROM ruvector_search('sh_items', '[1,0,0]', 3, 'dot', column_name => 'embedding', id_column => 'id');
SELECT * FROM ruvector_search('sh_items', '[1,0,0]', 0, column_name => 'embedding', id_column => 'id');
SELECT * FROM ruvector_search('sh_items', '[1,0]', 3, column_name => 'embedding', id_column => 'id');
SELECT * FROM ruvector_search('sh_items', '[1,0,0]', 3, column_name => 'embedding');
SELECT * FROM ruvector_search('sh_items', '[1,0,0]', 3, column_name => 'nope', id_column => 'id');
SELECT * FROM ruvector_search('sh_items', '[1,0,0]', NULL, column_name => 'embedding', id_column => 'id');
SELECT * FROM ruvector_search('sh_items', '[1,0,0]', 3, column_name => 'embedding', id_column => 'id', exact => NULL);
CREATE TABLE sh_text_ids (id text PRIMARY KEY, e ruvector(3));
SELECT * FROM ruvector_search('sh_text_ids', '[1,0,0]', 3);
SELECT * FROM ruvector_search('pg_class', '[1,0,0]', 3);
SELECT * FROM ruvector_search('sh_items_embedding_idx', '[1,0,0]', 3);

-- Privileges and row-level security: the per-partition reads apply only when
-- they see what a read of the parent sees; otherwise the table is read whole.
CREATE ROLE sh_reader;
GRANT SELECT ON sh_items TO sh_reader;
SET ROLE sh_reader;
SELECT count(*) AS through_the_parent FROM ruvector_search('sh_items', '[1,0,0]', 100, column_name => 'embedding', id_column => 'id');
SELECT * FROM sh_items_0 LIMIT 1;
RESET ROLE;
GRANT SELECT ON sh_items_0, sh_items_1, sh_items_2 TO sh_reader;
ALTER TABLE sh_items ENABLE ROW LEVEL SECURITY;
CREATE POLICY sh_small ON sh_items TO sh_reader USING (id <= 10);
SET ROLE sh_reader;
SELECT array_agg(id ORDER BY id) AS only_policy_rows FROM ruvector_search('sh_items', '[1,0,0]', 100, column_name => 'embedding', id_column => 'id');
SELECT count(*) FROM ruvector_search('sh_items', '[1,0,0]', 100, column_name => 'embedding', id_column => 'id', exact => false);
SELECT ruvector_attend_table('sh_items', '[1,0,0]', 'embedding', 'val')
     = (SELECT ruvector_attend('[1,0,0]', embedding, val) FROM sh_items) AS attend_under_policy;
RESET ROLE;
DROP POLICY sh_small ON sh_items;
ALTER TABLE sh_items DISABLE ROW LEVEL SECURITY;
-- A partition's own policy: per-partition reads would apply it, a read of the parent does not.
ALTER TABLE sh_items_1 ENABLE ROW LEVEL SECURITY;
SET ROLE sh_reader;
SELECT count(*) AS all_rows_as_through_the_parent FROM ruvector_search('sh_items', '[1,0,0]', 100, column_name => 'embedding', id_column => 'id');
RESET ROLE;
ALTER TABLE sh_items_1 DISABLE ROW LEVEL SECURITY;

-- ruvector_attend_table: the aggregate over the rows, one state per partition.
SELECT ruvector_attend_table('sh_items', '[1,0,0.5]', 'embedding', 'val') AS attended,
       (SELECT ruvector_attend('[1,0,0.5]', embedding, val) FROM sh_flat) AS over_one_table;
SELECT (SELECT max(abs(a - b)) FROM unnest(ruvector_attend_table('sh_items', '[1,0,0.5]', 'embedding', 'val', 'cosine')::real[],
          (SELECT ruvector_attend('[1,0,0.5]', embedding, val, 'cosine') FROM sh_flat)::real[]) u(a, b)) < 1e-6 AS cosine_same;
SELECT ruvector_attend_table('sh_flat', '[1,0,0.5]', 'embedding') = (SELECT ruvector_attend('[1,0,0.5]', embedding, embedding) FROM sh_flat) AS self_attention;
SELECT ruvector_attend_table('sh_empty', '[1,0,0]') IS NULL AS no_rows_no_result;
SELECT ruvector_attend_table('sh_items', '[1,0,0]', 'embedding', 'val', 'nope');
SELECT ruvector_attend_table('sh_items', '[1,0]', 'embedding', 'val');
SELECT ruvector_attend_table('sh_items', '[1,0,0]', 'embedding', 'nope');
SELECT ruvector_attend_table('sh_items', NULL);

-- ruvector_attend_state and ruvector_attend_merge: states merge exactly, in
-- any grouping, and survive their text and binary forms.
SELECT ruvector_attend_merge(s) = (SELECT ruvector_attend('[0.5,0.5,0]', embedding, val) FROM sh_flat) AS merged_exactly
FROM (SELECT ruvector_attend_state('[0.5,0.5,0]', embedding, val) s FROM sh_flat GROUP BY id % 4) t;
SELECT ruvector_attend_merge(s::text::ruvector_attend_state) = ruvector_attend_merge(s) AS text_round_trip
FROM (SELECT ruvector_attend_state('[0.5,0.5,0]', embedding, val) s FROM sh_flat) t;
CREATE TABLE sh_states (s ruvector_attend_state);
INSERT INTO sh_states SELECT ruvector_attend_state('[0.5,0.5,0]', embedding, val) FROM sh_flat;
COPY sh_states TO '/tmp/rvj_regress_states.bin' (FORMAT binary);
CREATE TABLE sh_states2 (s ruvector_attend_state);
COPY sh_states2 FROM '/tmp/rvj_regress_states.bin' (FORMAT binary);
SELECT (SELECT s::text FROM sh_states) = (SELECT s::text FROM sh_states2) AS binary_round_trip;
SELECT left(ruvector_attend_state('[1,0,0]', embedding, val)::text, 6) AS text_prefix FROM sh_flat;
SELECT ruvector_attend_state('[1,0,0]', embedding, val, '{"attention_type": "cosine"}'::jsonb) IS NOT NULL AS jsonb_form FROM sh_flat;
SELECT ruvector_attend_merge(s) = (SELECT ruvector_attend('[1,0,0]', embedding, val, 'cosine') FROM sh_flat) AS jsonb_same_as_text
FROM (SELECT ruvector_attend_state('[1,0,0]', embedding, val, '{"attention_type": "cosine"}'::jsonb) s FROM sh_flat) t;
SELECT ruvector_attend_merge(s) IS NULL AS nulls_only FROM (VALUES (NULL::ruvector_attend_state)) t(s);
SELECT ruvector_attend_merge(s) FROM (SELECT ruvector_attend_state(q::ruvector, embedding, val) s
  FROM sh_flat, (VALUES ('[1,0,0]'), ('[0,1,0]')) v(q) GROUP BY q) t;
SELECT ruvector_attend_state('[1,0,0]', embedding, val, '{"attention_type": "cosine", "params": {"tau": 2}}'::jsonb) FROM sh_flat;
SELECT ruvector_attend_state('[1,0,0]', embedding, val, '{"type": "cosine"}'::jsonb) FROM sh_flat;
SELECT ruvector_attend_state('[1,0,0]', embedding, val, '"cosine"'::jsonb) FROM sh_flat;
SELECT 'rvas1:00'::ruvector_attend_state;
SELECT 'nope'::ruvector_attend_state;
SELECT ('rvas1:' || repeat('00', 200))::ruvector_attend_state;

-- The internal aggregates, called by hand.
SELECT abs((ruvector_mha_normalisers(embedding, '[1,0,0]', 1))[1]
           - (SELECT ln(sum(exp((embedding <#> '[1,0,0]') * -1 / sqrt(3)))) FROM sh_flat)) < 1e-6 AS log_sum_exp_as_in_sql
FROM sh_flat;
SELECT array_length(ruvector_mha_normalisers(e, '[1,0,0,1]', 2), 1) FROM (VALUES ('[1,2,3,4]'::ruvector)) t(e);
SELECT ruvector_mha_normalisers(embedding, '[1,0,0]', 2) FROM sh_flat;
SELECT ruvector_mha_normalisers(e, q::ruvector, 1) FROM (VALUES ('[1]'::ruvector, '[1]'), ('[1]', '[2]')) t(e, q);
SELECT length(ruvector_search_scan(id, embedding <#> '[1,0,0]', 3)) AS bytes FROM sh_flat;
SELECT ruvector_search_scan(id, d, k) FROM (VALUES (1, 0.5::float8, 2), (2, 0.1, 3)) t(id, d, k);
SELECT ruvector_search_scan(id, 0.5, 0) FROM sh_flat;
SELECT ruvector_search_scan(NULL, 0.5, 3);
SELECT length(ruvector_cross_scan(id, embedding, ARRAY[[1,0,0],[0,1,0]]::real[], 2, '{}'::jsonb)) AS bytes FROM sh_flat;
SELECT ruvector_cross_scan(id, embedding, ARRAY[1,0,0]::real[], 2, '{}'::jsonb) FROM sh_flat;
SELECT ruvector_cross_scan(id, embedding, ARRAY[[1,0],[0,1]]::real[], 2, '{}'::jsonb) FROM sh_flat;
SELECT ruvector_cross_scan(id, embedding, ARRAY[[1,0,0]]::real[], 2, '{"attention_type": "nope"}'::jsonb) FROM sh_flat;
SELECT ruvector_cross_scan(id, embedding, ARRAY[[1,0,0]]::real[], 2, '{"attention_type": "cosine", "params": {"tau": -1}}'::jsonb) FROM sh_flat;
SELECT ruvector_cross_scan(id, embedding, ARRAY[[1,0,0]]::real[], 0, '{}'::jsonb) FROM sh_flat;
SELECT ruvector_cross_scan(id, embedding, ARRAY[['NaN',0,0]]::real[], 1, '{}'::jsonb) FROM sh_flat;

DROP TABLE sh_items, sh_flat, sh_ball, sh_empty, sh_text_ids, sh_states, sh_states2;
DROP ROLE sh_reader;

-- Linear attention over a table as a state and queries: the aggregate
-- ruvector_linear_state, ruvector_linear_attend (equal to the sequence form
-- over the same rows), merging, the type's text and binary forms, parallel
-- aggregation, and the errors.
SET extra_float_digits = 0;
CREATE TABLE kv (id int PRIMARY KEY, k ruvector(8), v ruvector(6));
INSERT INTO kv SELECT i, ARRAY(SELECT sin(i * j * 0.37)::real FROM generate_series(1, 8) j)::ruvector,
  ARRAY(SELECT cos(i * j * 0.21)::real FROM generate_series(1, 6) j)::ruvector FROM generate_series(1, 300) i;
CREATE TABLE states AS
SELECT 'linear' AS name, ruvector_linear_state(k, v, 'linear', '{"num_heads": 2}') AS s FROM kv
UNION ALL
SELECT 'performer', ruvector_linear_state(k, v, 'performer', '{"num_features": 16, "seed": 7, "num_heads": 2}') FROM kv
UNION ALL
SELECT 'default', ruvector_linear_state(k, v) FROM kv;
SELECT name, ruvector_linear_state_info(s) FROM states ORDER BY name;

-- A query against the state equals ruvector_attention over the same rows.
CREATE TABLE probes AS SELECT i, ARRAY(SELECT cos(i + j)::real FROM generate_series(1, 8) j)::ruvector AS q
  FROM generate_series(1, 5) i;
WITH want AS (
  SELECT p.i, s.name, (ruvector_attention(ARRAY[p.q], (SELECT array_agg(k ORDER BY id) FROM kv),
          (SELECT array_agg(v ORDER BY id) FROM kv), CASE s.name WHEN 'default' THEN 'linear' ELSE s.name END,
          CASE s.name WHEN 'linear' THEN '{"num_heads": 2}'
                      WHEN 'performer' THEN '{"num_features": 16, "seed": 7, "num_heads": 2}'
                      ELSE '{}' END::jsonb))[1] AS w,
         ruvector_linear_attend(p.q, s.s) AS got
  FROM probes p, states s)
SELECT name, count(*) AS queries,
       max((SELECT max(abs(a - b) / greatest(abs(a), 1e-6)) FROM unnest(w::real[], got::real[]) u(a, b))) < 1e-5
         AS equal
FROM want GROUP BY name ORDER BY name;

-- Adding rows: the merge of two halves' states answers like the whole (up
-- to rounding: the halves' sums are grouped differently).
SELECT (SELECT max(abs(a - b) / greatest(abs(b), 1e-6)) FROM unnest(m::real[], w::real[]) u(a, b)) < 1e-6
         AS merged_equal
FROM (SELECT ruvector_linear_attend(q, ruvector_linear_state_merge(
         (SELECT ruvector_linear_state(k, v, 'linear', '{"num_heads": 2}') FROM kv WHERE id <= 120),
         (SELECT ruvector_linear_state(k, v, 'linear', '{"num_heads": 2}') FROM kv WHERE id > 120))) AS m,
       ruvector_linear_attend(q, (SELECT s FROM states WHERE name = 'linear')) AS w
      FROM probes WHERE i = 1) x;
SELECT (ruvector_linear_state_info(ruvector_linear_state_merge(s, s)) ->> 'rows')::int AS rows_doubled
FROM states WHERE name = 'linear';

-- The text form round-trips exactly; bad text is refused.
SELECT ruvector_linear_attend(q, s::text::ruvector_linear_state) = ruvector_linear_attend(q, s) AS text_round_trip
FROM probes, states WHERE i = 2 AND name = 'performer';
SELECT 'rvls1:00'::ruvector_linear_state;
SELECT 'garbage'::ruvector_linear_state;
SELECT (left(s::text, 40) || 'zz' || substr(s::text, 43))::ruvector_linear_state FROM states WHERE name = 'linear';
-- ... and the binary form (COPY BINARY out and in).
COPY (SELECT name, s FROM states) TO '/tmp/rvj_linear_states.bin' (FORMAT binary);
CREATE TABLE states_copy (name text, s ruvector_linear_state);
COPY states_copy FROM '/tmp/rvj_linear_states.bin' (FORMAT binary);
SELECT count(*) AS copied, bool_and(c.s::text = o.s::text) AS identical
FROM states_copy c JOIN states o USING (name);

-- Parallel workers build the same state (the combine order follows the
-- workers: equal within 1e-6).
CREATE TABLE many_kv AS SELECT i AS id, ARRAY(SELECT sin(i * j * 0.013)::real FROM generate_series(1, 8) j)::ruvector AS k,
  ARRAY(SELECT cos(i * j * 0.007)::real FROM generate_series(1, 6) j)::ruvector AS v
  FROM generate_series(1, 30000) i;
ANALYZE many_kv;
CREATE TEMP TABLE serial_state AS SELECT ruvector_linear_state(k, v) AS s FROM many_kv;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT ruvector_linear_state(k, v) FROM many_kv;
SELECT (SELECT max(abs(a - b) / greatest(abs(a), 1e-6)) FROM unnest(
          ruvector_linear_attend('[1,0,1,0,1,0,1,0]', (SELECT s FROM serial_state))::real[],
          ruvector_linear_attend('[1,0,1,0,1,0,1,0]', ruvector_linear_state(k, v))::real[]) u(a, b)) < 1e-6
  AS parallel_equal
FROM many_kv;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- A state stored in a table (33 kB: out of line, in TOAST) answers every
-- row's query; the call site detoasts it once, not per row.
CREATE TABLE wide AS SELECT i AS id, ARRAY(SELECT sin(i * j * 0.01)::real FROM generate_series(1, 64) j)::ruvector AS x
  FROM generate_series(1, 2000) i;
CREATE TABLE stored (s ruvector_linear_state);
INSERT INTO stored SELECT ruvector_linear_state(x, x) FROM wide;
SELECT (ruvector_linear_state_info(s) ->> 'bytes')::int AS bytes,
       (SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE relname = 'stored') AS stored_in_toast
FROM stored;
SELECT count(*) AS answered, bool_and(ruvector_linear_attend(x, (SELECT s FROM stored))::text =
                                      ruvector_linear_attend(x, (SELECT s FROM stored)::text::ruvector_linear_state)::text)
  AS same_as_detoasted_each_time
FROM wide WHERE id <= 200;

-- Errors: no table form, other shapes, other forms, empty input.
SELECT ruvector_linear_state(k, v, 'cosformer') FROM kv;
SELECT ruvector_linear_state(k, v, 'linear_causal') FROM kv;
SELECT ruvector_linear_state(k, v, 'performer', '{"causal": true}') FROM kv;
SELECT ruvector_linear_state(k, v, 'scaled_dot') FROM kv;
SELECT ruvector_linear_state(k, v, 'linear', '{"num_heads": 3}') FROM kv;
SELECT ruvector_linear_state(k, v, 'linear', '{"tau": 1}') FROM kv;
SELECT ruvector_linear_state(k, v, NULL) FROM kv;
SELECT ruvector_linear_state(k, CASE WHEN id = 7 THEN '[1,2]'::ruvector ELSE v END) FROM kv;
SELECT ruvector_linear_attend('[1,2,3]', s) FROM states WHERE name = 'linear';
SELECT ruvector_linear_state_merge(a.s, b.s) FROM states a, states b WHERE a.name = 'linear' AND b.name = 'default';
SELECT ruvector_linear_state(k, v) IS NULL AS no_rows_no_state FROM kv WHERE id < 0;
SELECT (ruvector_linear_state_info(ruvector_linear_state(k, CASE WHEN id % 2 = 0 THEN NULL ELSE v END)) ->> 'rows')::int
  AS rows_with_values FROM kv;

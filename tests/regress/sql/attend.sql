-- Attention over a set: ruvector_softmax, ruvector_attention_weights and the
-- aggregate ruvector_attend, checked against a plain-SQL transcription of
-- softmax(q.K^T / sqrt(d)) . V computed in float8 by PostgreSQL itself.
SELECT ruvector_softmax('{1,2,3}');
SELECT ruvector_softmax('{1000,1000}') AS no_overflow;
SELECT ruvector_softmax(ARRAY[-5]::real[]) AS one_logit;
-- logits 1/sqrt2, 0, 1/sqrt2: weights e^0.7071/(2e^0.7071 + 1) = 0.4011121, 0.1977758
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]', '[0,1]', '[1,1]']::ruvector[]);
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]', '[0,1]']::ruvector[], 'cosine', '{"tau": 10}');
-- geoopt: d_0.5((0.1,0.2), (0.5,-0.5)) = 1.76817735, so softmax(0, -2d) = {0.97170466, 0.02829534}
SELECT ruvector_attention_weights(query => '[0.1,0.2]', keys => ARRAY['[0.1,0.2]', '[0.5,-0.5]']::ruvector[],
                                  attention_type => 'poincare', params => '{"beta": 2, "c": 0.5}');

CREATE TABLE kv AS
  SELECT i AS id, i % 4 AS grp,
         ARRAY[sin(i), cos(i), sin(i * 0.3), cos(i * 0.7), sin(i * 1.1), cos(i * 1.9), sin(i * 2.3), 0.5]::real[]::ruvector AS k,
         ARRAY[cos(i * 0.2), sin(i * 0.5), i % 5 - 2]::real[]::ruvector AS v
  FROM generate_series(1, 20000) i;
ANALYZE kv;

-- the reference: logits and weighted values in float8 SQL
CREATE TEMP TABLE ref AS
WITH q AS (SELECT '[0.3,-0.2,0.9,0.1,0.5,-0.4,0.2,0.1]'::ruvector AS q),
logits AS (
  SELECT kv.id, kv.v, (SELECT sum(x::float8 * y) FROM unnest(q.q::real[], kv.k::real[]) u(x, y)) / sqrt(8) AS s
  FROM kv, q),
mx AS (SELECT max(s) AS m FROM logits)
SELECT c.i, sum(exp(s - m) * c.x) / sum(exp(s - m)) AS out
FROM logits, mx, unnest(v::real[]) WITH ORDINALITY c(x, i) GROUP BY c.i;

SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial AS
  SELECT ruvector_attend('[0.3,-0.2,0.9,0.1,0.5,-0.4,0.2,0.1]', k, v) AS o FROM kv;
SELECT bool_and(abs(s.x - r.out) <= 1e-5 * abs(r.out) + 1e-6) AS serial_matches_reference
FROM serial, unnest(o::real[]) WITH ORDINALITY s(x, i) JOIN ref r USING (i);

-- the same in parallel workers: Partial Aggregate, then the combine function
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
  SELECT ruvector_attend('[0.3,-0.2,0.9,0.1,0.5,-0.4,0.2,0.1]', k, v) FROM kv;
CREATE TEMP TABLE par AS
  SELECT ruvector_attend('[0.3,-0.2,0.9,0.1,0.5,-0.4,0.2,0.1]', k, v) AS o FROM kv;
SELECT bool_and(abs(p.x - s.x) <= 1e-5 * abs(s.x) + 1e-6) AS parallel_matches_serial
FROM par, serial, unnest(par.o::real[]) WITH ORDINALITY p(x, i)
JOIN unnest(serial.o::real[]) WITH ORDINALITY s(x, i) USING (i);
-- per group, with an explicit attention type
SELECT grp, ruvector_dims(ruvector_attend('[0.3,-0.2,0.9,0.1,0.5,-0.4,0.2,0.1]', k, v, 'cosine')) AS dims
FROM kv GROUP BY grp ORDER BY grp;
RESET ALL;

-- NULL rows take no part; no rows gives NULL
SELECT ruvector_attend(q, k, v) FROM (VALUES ('[1,0]'::ruvector, '[1,0]'::ruvector, '[1,2]'::ruvector),
                                             ('[1,0]', NULL, '[5,5]')) t(q, k, v);
SELECT ruvector_attend('[1]', k, v) IS NULL AS empty_is_null FROM kv WHERE false;

-- bad input
SELECT ruvector_softmax('{}');
SELECT ruvector_softmax('{1,NULL}');
SELECT ruvector_softmax('{1,Infinity}');
SELECT ruvector_attention_weights('[1,0]', '{}'::ruvector[]);
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]', NULL]::ruvector[]);
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0,0]']::ruvector[]);
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'cosine', '{"temperature": 1}');
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'cosine', '{"tau": "hot"}');
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'cosine', '{"tau": [5]}');
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'cosine', '{"tau": {"x": 1}}');
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'cosine', '{"tau": -1}');
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'cosine', '[1]');
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'scaled_dot', '{"scale": 2}');
SELECT ruvector_attention_weights('[1,0]', ARRAY['[1,0]']::ruvector[], 'causal');
SELECT ruvector_attend(q, k, v) FROM (VALUES ('[1,0]'::ruvector, '[1,0]'::ruvector, '[1,2]'::ruvector),
                                             ('[0,1]', '[1,0]', '[1,2]')) t(q, k, v);
SELECT ruvector_attend(q, k, v) FROM (VALUES ('[1,0]'::ruvector, '[1,0]'::ruvector, '[1,2]'::ruvector),
                                             ('[1,0]', '[1,0]', '[1,2,3]')) t(q, k, v);
SELECT ruvector_attend('[1,0]', '[1,0,0]', '[1]');
SELECT ruvector_attend('[1,0]', '[1,0]', '[1]', 'bogus');
SELECT ruvector_attend('[1,0]', '[1,0]', '[1]', NULL);
DROP TABLE kv;

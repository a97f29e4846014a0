-- Distance operators, norm, arithmetic, comparison and the btree class.
-- Expected values by hand: |(1,2,3)-(4,5,6)| = sqrt(27); (1,2,3).(4,5,6) = 32;
-- cos = 32 / sqrt(14 * 77).
SELECT round(('[1,2,3]'::ruvector <-> '[4,5,6]')::numeric, 6) AS l2, sqrt(27)::numeric(10,6) AS expected;
SELECT '[1,2,3]'::ruvector <#> '[4,5,6]' AS neg_ip;
SELECT round(('[1,2,3]'::ruvector <=> '[4,5,6]')::numeric, 6) AS cosine,
       round((1 - 32 / sqrt(14.0 * 77.0))::numeric, 6) AS expected;
SELECT '[1,1]'::ruvector <=> '[0,0]' AS cosine_of_zero_is_nan;
SELECT ruvector_norm('[3,4]'), ruvector_dims('[3,4]');
SELECT '[1,2,3]'::ruvector + '[4,5,6]', '[1,2,3]'::ruvector - '[4,5,6]', '[1,2,3]'::ruvector * '[4,5,6]';
SELECT '[3e38]'::ruvector + '[3e38]';
SELECT '[1e-30]'::ruvector * '[1e-30]';
-- different dimensions
SELECT '[1,2,3]'::ruvector <-> '[1,2]';
SELECT '[1,2,3]'::ruvector <#> '[1,2]';
SELECT '[1,2,3]'::ruvector <=> '[1,2]';
SELECT '[1,2,3]'::ruvector + '[1,2]';
SELECT '[1,2,3]'::ruvector - '[1,2]';
SELECT '[1,2,3]'::ruvector * '[1,2]';
SELECT ruvector_l2_distance('[1,2,3]', '[1,2]');
SELECT ruvector_negative_inner_product('[1]', '[1,2]');
SELECT ruvector_cosine_distance('[1]', '[1,2]');
SELECT '[-3e38]'::ruvector - '[3e38]';
-- comparison, DISTINCT, GROUP BY, ORDER BY
SELECT '[1,2]'::ruvector = '[1,2]', '[1,2]'::ruvector <> '[1,3]', '[1,2]'::ruvector < '[1,3]',
       '[1,2]'::ruvector < '[1,2,0]', '[2]'::ruvector > '[1,9]';
CREATE TABLE rv_items (id int, v ruvector);
INSERT INTO rv_items VALUES (1, '[1,2]'), (2, '[0,5]'), (3, '[1,2]'), (4, '[1,1]'), (5, '[0,5]');
SELECT DISTINCT v FROM rv_items ORDER BY v;
SELECT v, count(*) FROM rv_items GROUP BY v ORDER BY v DESC;
CREATE INDEX ON rv_items (v);
SET enable_seqscan = off;
SELECT id FROM rv_items WHERE v = '[1,2]' ORDER BY id;
RESET enable_seqscan;
SELECT id, v <-> '[1,2]' AS d FROM rv_items ORDER BY v <-> '[1,2]', id LIMIT 3;
DROP TABLE rv_items;
-- the operators are IR kernels: identical bits with the JIT off
CREATE TEMP TABLE pts AS
  SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i), i % 7]::real[]::ruvector AS v FROM generate_series(1, 100) i;
CREATE TEMP TABLE ops_jit AS
  SELECT a.i AS ai, b.i AS bi, a.v <-> b.v AS l2, a.v <#> b.v AS ip, a.v <=> b.v AS cos, ruvector_norm(a.v) AS n
  FROM pts a, pts b;
SET ruvector_jit.enabled = off;
SELECT bool_and(j.l2 = (a.v <-> b.v)) AS l2, bool_and(j.ip = (a.v <#> b.v)) AS ip,
       bool_and(j.cos = (a.v <=> b.v)) AS cos, bool_and(j.n = ruvector_norm(a.v)) AS norm, count(*)
FROM ops_jit j JOIN pts a ON a.i = j.ai JOIN pts b ON b.i = j.bi;
RESET ruvector_jit.enabled;

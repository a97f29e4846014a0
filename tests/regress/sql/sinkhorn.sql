-- Sinkformer attention through ruvector_attention: exact against numpy
-- (tests/fixtures/sinkhorn.sql, scripts/gen_catalogue_fixtures.py); one
-- step is the softmax; after many, the rows and the columns of the plan both
-- sum to 1 (seen through one-hot values, which make the output the plan).
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/sinkhorn.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

SELECT id, params, bool_and(abs(u - w) <= 1e-5 * greatest(1, abs(w))) AS matches_numpy
FROM sk_cases,
     LATERAL unnest(ruvector_attention(q, k, v, 'sinkhorn', params), expected) AS x(got, want),
     LATERAL unnest(got::real[], want::real[]) AS t(u, w)
GROUP BY id, params ORDER BY id;
-- one step: the softmax (scaled_dot's attention)
SELECT bool_and(abs(u - w) <= 1e-6 * greatest(1, abs(w))) AS one_step_is_softmax
FROM sk_cases,
     LATERAL unnest(ruvector_attention(q, k, v, 'sinkhorn', '{"iterations": 1}'), ruvector_attention(q, k, v, 'scaled_dot'))
       AS x(got, want),
     LATERAL unnest(got::real[], want::real[]) AS t(u, w)
WHERE id = 2;
-- the plan of 8 queries over 8 keys after 51 steps: rows and columns sum to 1
CREATE TEMP TABLE sk_plan AS
SELECT i, j, p
FROM (SELECT ruvector_attention(
        (SELECT array_agg(ARRAY[sin(i), cos(i * 2), sin(i * 3)]::real[]::ruvector ORDER BY i) FROM generate_series(1, 8) i),
        (SELECT array_agg(ARRAY[cos(i), sin(i * 2), cos(i * 3)]::real[]::ruvector ORDER BY i) FROM generate_series(1, 8) i),
        (SELECT array_agg(ARRAY(SELECT (c = i)::int::real FROM generate_series(1, 8) c)::ruvector ORDER BY i)
         FROM generate_series(1, 8) i),
        'sinkhorn', '{"iterations": 51}') AS out) o,
     LATERAL unnest(o.out) WITH ORDINALITY AS r(row, i),
     LATERAL unnest(r.row::real[]) WITH ORDINALITY AS c(p, j);
SELECT (SELECT max(abs(s - 1)) FROM (SELECT sum(p) AS s FROM sk_plan GROUP BY i) r) < 1e-6 AS rows_sum_to_1,
       (SELECT max(abs(s - 1)) FROM (SELECT sum(p) AS s FROM sk_plan GROUP BY j) c) < 1e-4 AS columns_sum_to_1;
SELECT * FROM ruvector_jit_explain('sinkhorn', 8, '{"num_heads": 2}');
-- errors
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'sinkhorn',
                          '{"iterations": 0}');
-- huge logits stay finite: the normalisations run in f64, in the log domain
SELECT ruvector_attention(ARRAY['[1e30,1]']::ruvector[], ARRAY['[1e30,1]']::ruvector[], ARRAY['[1]']::ruvector[], 'sinkhorn');
SELECT ruvector_attention_weights('[1,2]', ARRAY['[1,2]']::ruvector[], 'sinkhorn');

-- The Nystromformer through ruvector_attention: exact against a numpy
-- transcription of the paper's reference code (tests/fixtures/nystrom.sql,
-- scripts/gen_catalogue_fixtures.py), and its statistical claim: the error
-- against exact softmax attention falls as the landmarks grow.
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/nystrom.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

SELECT id, params, bool_and(abs(u - w) <= 1e-5 * greatest(1, abs(w))) AS matches_numpy
FROM ny_cases,
     LATERAL unnest(ruvector_attention(q, k, v, 'nystrom', params), expected) AS x(got, want),
     LATERAL unnest(got::real[], want::real[]) AS t(u, w)
GROUP BY id, params ORDER BY id;
-- the error against exact softmax attention (scaled_dot) falls as the
-- landmarks grow, over 256 smooth rows of 16 dimensions, 2 heads
CREATE TEMP TABLE ny_seq AS
  SELECT array_agg(ARRAY(SELECT (sin(i * 0.05 * t) + cos(i * 0.11 + t))::real FROM generate_series(1, 16) t)::ruvector
                   ORDER BY i) AS x
  FROM generate_series(1, 256) i;
SET work_mem = '16MB';
CREATE TEMP TABLE ny_err AS
SELECT m, (SELECT sqrt(avg((a - b) ^ 2))
           FROM unnest(ruvector_attention(x, x, x, 'nystrom', jsonb_build_object('num_heads', 2, 'num_landmarks', m)),
                       ruvector_attention(x, x, x, 'scaled_dot', '{"num_heads": 2}')) AS r(g, e),
                LATERAL unnest(g::real[], e::real[]) AS u(a, b)) AS rmse
FROM ny_seq, unnest(ARRAY[4, 16, 64, 256]) AS m;
RESET work_mem;
SELECT bool_and(rmse < prev / 2) AS error_falls_at_least_2x_per_step, min(rmse) < 0.01 AS close_with_every_row,
       max(rmse) / min(rmse) > 100 AS falls_over_100x
FROM (SELECT m, rmse, lag(rmse, 1, 'Infinity') OVER (ORDER BY m) AS prev FROM ny_err) t;
SELECT * FROM ruvector_jit_explain('nystrom', 16, '{"num_heads": 2, "num_landmarks": 8}');
-- errors
SELECT ruvector_attention(ARRAY['[1,2]','[3,4]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[],
                          'nystrom', '{"num_landmarks": 2}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[],
                          'nystrom', '{"num_landmarks": 0}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[],
                          'nystrom', '{"pinv_iterations": 101}');

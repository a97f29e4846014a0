-- Retention (RetNet, Sun et al. 2023) through ruvector_attention: the
-- parallel and the recurrent forms, exact against a numpy transcription of
-- the parallel form (tests/fixtures/retention.sql,
-- scripts/gen_catalogue_fixtures.py), and agreeing with each other.
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/retention.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

SELECT id, params,
       bool_and(abs(u - w) <= 1e-5 * greatest(1, abs(w))) AS parallel_matches,
       bool_and(abs(r - w) <= 1e-5 * greatest(1, abs(w))) AS recurrent_matches,
       max(abs(u - r) / greatest(1e-30, abs(w))) < 1e-6 AS forms_agree
FROM rt_cases c,
     LATERAL unnest(ruvector_attention(q, k, v, 'retention', params),
                    ruvector_attention(q, k, v, 'retention', params || '{"recurrent": true}'), expected)
       AS x(got, rec, want),
     LATERAL unnest(got::real[], rec::real[], want::real[]) AS t(u, r, w)
GROUP BY id, params ORDER BY id;
-- a small case by hand: gamma 0.5, one head, query 2 sees keys 0..2
SELECT ruvector_attention(ARRAY['[1]', '[1]', '[1]']::ruvector[], ARRAY['[1]', '[1]', '[1]']::ruvector[],
                          ARRAY['[4]', '[2]', '[1]']::ruvector[], 'retention', '{"gamma": 0.5}') AS by_hand;  -- 4, 4, 3
SELECT * FROM ruvector_jit_explain('retention', 8, '{"num_heads": 2, "recurrent": true}');
-- errors
SELECT ruvector_attention(ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], 'retention', '{"gamma": 0}');
SELECT ruvector_attention(ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], 'retention', '{"gamma": 1.5}');
SELECT ruvector_attention(ARRAY['[1,2,3]']::ruvector[], ARRAY['[1,2,3]']::ruvector[], ARRAY['[1]']::ruvector[], 'retention', '{"num_heads": 2}');
SELECT ruvector_attention(ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], 'retention', '{"recurrent": 2}');
SELECT ruvector_attention(ARRAY['[1e30]']::ruvector[], ARRAY['[1e30]']::ruvector[], ARRAY['[1e30]']::ruvector[], 'retention');

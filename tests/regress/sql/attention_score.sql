-- ruvector_attention_score: the per-row logit, JIT-compiled.
-- Reference values: scaled_dot = 32/sqrt(3) = 18.4752086; cosine = 32/sqrt(14*77) = 0.9746318.
SELECT round(ruvector_attention_score('[1,2,3]'::ruvector, '[4,5,6]'::ruvector)::float8::numeric, 5) AS scaled_dot,
       round((32 / sqrt(3))::float8::numeric, 5) AS expected;
SELECT round(ruvector_attention_score('[1,2,3]'::ruvector, '[4,5,6]'::ruvector, 'cosine')::float8::numeric, 6) AS cosine;
SELECT round(ruvector_attention_score(query => '[1,2,3]'::ruvector, key => '[4,5,6]'::ruvector,
                                      attention_type => 'scaled_dot')::float8::numeric, 5) AS named_args;
-- poincare: -d(q, k) with c = 1; geoopt gives d = 1.3851240 for these points
SELECT round(ruvector_attention_score('[0.1,0.2]'::ruvector, '[0.3,-0.4]'::ruvector, 'poincare')::float8::numeric, 5) AS poincare;
-- parameters by name: cosine with tau = 2 doubles the cosine; poincare with
-- c = 0.5, beta = 2, gamma = 1 is -2 d_0.5 - 1 = -4.5363547 (geoopt: d = 1.76817735)
SELECT round(ruvector_attention_score('[1,2,3]'::ruvector, '[4,5,6]'::ruvector, 'cosine', '{"tau": 2}')::float8::numeric, 6) AS cosine_tau2;
SELECT round(ruvector_attention_score('[0.1,0.2]'::ruvector, '[0.5,-0.5]'::ruvector, 'poincare',
                                      '{"c": 0.5, "beta": 2, "gamma": 1}')::float8::numeric, 5) AS poincare_params;
-- the real[] overload
SELECT round(ruvector_attention_score(ARRAY[1,2,3]::real[], ARRAY[4,5,6]::real[])::float8::numeric, 5) AS from_arrays;
-- one key never scores 1.0: the score discriminates
SELECT ruvector_attention_score('[1,0]'::ruvector, '[1,0]'::ruvector) AS same,
       ruvector_attention_score('[1,0]'::ruvector, '[-1,0]'::ruvector) AS opposite;
-- NULL in, NULL out (STRICT)
SELECT ruvector_attention_score(NULL::ruvector, '[1]'::ruvector) IS NULL AS is_null;

-- Ranking rows: ORDER BY score DESC LIMIT k ranks as the softmax weights do,
-- the same order as negative inner product for scaled_dot.
CREATE TABLE docs AS
  SELECT i AS id, ARRAY[sin(i), cos(i * 0.7), sin(i * 1.3), cos(i * 2.1), sin(i * 0.1)]::real[]::ruvector(5) AS embedding
  FROM generate_series(1, 500) i;
SELECT id FROM docs ORDER BY ruvector_attention_score('[0.3,-0.2,0.9,0.1,0.5]', embedding) DESC LIMIT 5;
SELECT id FROM docs ORDER BY '[0.3,-0.2,0.9,0.1,0.5]' <#> embedding LIMIT 5;
SELECT id FROM docs ORDER BY ruvector_attention_score('[0.3,-0.2,0.9,0.1,0.5]', embedding, 'cosine') DESC LIMIT 5;
SELECT id FROM docs ORDER BY '[0.3,-0.2,0.9,0.1,0.5]' <=> embedding LIMIT 5;
-- softmax weights over the top 5, from the logits
SELECT id, round((exp(s) / sum(exp(s)) OVER ())::float8::numeric, 4) AS weight
FROM (SELECT id, ruvector_attention_score('[0.3,-0.2,0.9,0.1,0.5]', embedding) AS s
      FROM docs ORDER BY s DESC LIMIT 5) top ORDER BY weight DESC, id;

-- The JIT and the interpreter run the same IR in the same order: identical bits.
CREATE TABLE scores_jit AS
  SELECT id, ruvector_attention_score('[0.3,-0.2,0.9,0.1,0.5]', embedding) AS sd,
             ruvector_attention_score('[0.3,-0.2,0.9,0.1,0.5]', embedding, 'cosine') AS cs
  FROM docs;
SET ruvector_jit.enabled = off;
SELECT bool_and(j.sd = i.sd) AS scaled_dot_identical, bool_and(j.cs = i.cs) AS cosine_identical, count(*)
FROM scores_jit j
JOIN (SELECT id, ruvector_attention_score('[0.3,-0.2,0.9,0.1,0.5]', embedding) AS sd,
             ruvector_attention_score('[0.3,-0.2,0.9,0.1,0.5]', embedding, 'cosine') AS cs FROM docs) i USING (id);
SELECT line FROM ruvector_jit_explain('scaled_dot', 5) AS line WHERE line LIKE '%Execution%';
RESET ruvector_jit.enabled;
SHOW ruvector_jit.enabled;

-- bad input
SELECT ruvector_attention_score('[1,2,3]'::ruvector, '[1,2]'::ruvector);
SELECT ruvector_attention_score(ARRAY[1,2,3]::real[], ARRAY[1,2]::real[]);
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'softmax');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'causal');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'poincare_distance');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'talking_heads');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'multi_head');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'lorentz');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'cosine', '{"tau": -1}');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'scaled_dot', '{"tau": 1}');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'cosine', '"tau"');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, '');
SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, repeat('x', 200));
SELECT ruvector_attention_score('[0,0]'::ruvector, '[1,2]'::ruvector, 'cosine');
SELECT ruvector_attention_score('[0.8,0.8]'::ruvector, '[0.1,0.2]'::ruvector, 'poincare');
SELECT ruvector_attention_score(ARRAY[1,NULL]::real[], ARRAY[1,2]::real[]);
SELECT ruvector_attention_score(ARRAY['NaN',2]::real[], ARRAY[1,2]::real[]);
SELECT ruvector_attention_score('{}'::real[], '{}'::real[]);
-- an error in one row leaves the call site usable for the next statement
SELECT ruvector_attention_score(a, b, t) FROM (VALUES ('[1,2]'::ruvector, '[3,4]'::ruvector, 'scaled_dot'),
                                                      ('[1,2]'::ruvector, '[3,4]'::ruvector, 'nope')) v(a, b, t);

-- the catalogue of what works
SELECT name, family, parameters, per_row, sql_forms FROM ruvector_attention_types() ORDER BY name;
DROP TABLE docs, scores_jit;

-- SQLSTATEs
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $$;
SELECT q, pg_temp.sqlstate(q) FROM (VALUES
  ($q$SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'softmax')$q$),
  ($q$SELECT ruvector_attention_score('[1,2]'::ruvector, '[1,2]'::ruvector, 'causal')$q$),
  ($q$SELECT ruvector_attention_score('[1,2]'::ruvector, '[1]'::ruvector)$q$),
  ($q$SELECT ruvector_attention_score('[0,0]'::ruvector, '[1,2]'::ruvector, 'cosine')$q$),
  ($q$SELECT ruvector_attention_score('[0.8,0.8]'::ruvector, '[0,0]'::ruvector, 'poincare')$q$),
  ($q$SELECT ruvector_hyperbolic_distance('[0.1]', '[0.2]', 0)$q$)) v(q);

-- lorentz on the hyperboloid <x,x>_L = -k: (cosh r, sinh r u) is at distance r
-- from the origin (1, 0, ...); points off it, or on the lower sheet, are errors.
-- A float32 point sits a hair off the hyperboloid and arcosh near 1 magnifies
-- that: d(x, x) is 0.0011 for the last one, as geoopt gives on the same point.
SELECT round(ruvector_attention_score('[1.5430806,1.1752012,0]'::ruvector, '[1,0,0]'::ruvector, 'lorentz')::numeric, 5) AS minus_distance_1,
       round(ruvector_attention_score('[3.7621956,0,3.6268604]'::ruvector, '[1,0,0]'::ruvector, 'lorentz',
                                      '{"beta": 2, "gamma": 1}')::numeric, 5) AS minus_2r_minus_1,
       round(ruvector_attention_score('[2.1213204,1,1]'::ruvector, '[2.1213204,1,1]'::ruvector, 'lorentz', '{"k": 2.5}')::numeric, 5) AS same_point;
SELECT ruvector_attention_score('[1,1,0]'::ruvector, '[1,0,0]'::ruvector, 'lorentz');
SELECT ruvector_attention_score('[-1,0,0]'::ruvector, '[1,0,0]'::ruvector, 'lorentz');
SELECT ruvector_attention_weights('[1.5430806,1.1752012,0]', ARRAY['[1,0,0]', '[1.5430806,1.1752012,0]']::ruvector[], 'lorentz');

-- the sparse normalisers over a set: exact zeros, the top k, the sigmoid
SELECT ruvector_attention_weights('[2,0]', ARRAY['[1,0]', '[0,1]', '[-1,0]']::ruvector[], 'sparsemax') AS sparsemax,
       ruvector_attention_weights('[2,0]', ARRAY['[1,0]', '[0,1]', '[-1,0]']::ruvector[], 'entmax15') AS entmax15,
       ruvector_attention_weights('[2,0]', ARRAY['[1,0]', '[0,1]', '[-1,0]']::ruvector[], 'topk_sparse', '{"top_k": 2}') AS top_2,
       ruvector_attention_weights('[2,0]', ARRAY['[1,0]', '[0,1]']::ruvector[], 'sigmoid', '{"bias": 0}') AS sigmoid;
SELECT ruvector_attention_weights('[2,0]', ARRAY['[1,0]']::ruvector[], 'topk_sparse', '{"num_heads": 2}');
SELECT ruvector_attention_weights('[2,0]', ARRAY['[1,0]']::ruvector[], 'topk_sparse', '{"top_k": 0}');

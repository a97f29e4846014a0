-- Sequence attention with a model's weights: ruvector_model_attention with
-- multi_head models (torch.nn.MultiheadAttention's state_dict), exact
-- against torch (tests/fixtures/model_attention.sql,
-- scripts/gen_catalogue_fixtures.py).
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/model_attention.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

SELECT name, kind, config FROM ruvector_models ORDER BY name;
-- torch's output within 1e-5
SELECT c.name, count(*) AS values_compared,
       bool_and(abs(u - w) <= 1e-5 * greatest(1, abs(w))) AS matches_torch
FROM ma_cases c,
     LATERAL unnest(ruvector_model_attention(c.name, c.q, c.k, c.v), c.expected) WITH ORDINALITY AS r(got, want, i),
     LATERAL unnest(r.got::real[], r.want::real[]) AS t(u, w)
GROUP BY c.name ORDER BY c.name;
-- the same bits as the weights-as-arguments form
CREATE TEMP VIEW ma_rows AS
  SELECT t.model, t.name, i, array(SELECT unnest(t.data[i:i][1:t.shape[2]]))::real[]::ruvector AS r
  FROM ruvector_model_tensors t, generate_series(1, t.shape[1]) i WHERE array_length(t.shape, 1) = 2;
SELECT ruvector_model_attention('ma_8x2', q, k, v) =
       ruvector_multi_head_attention(q, k, v,
         (SELECT array_agg(r ORDER BY i) FROM ma_rows WHERE model = 'ma_8x2' AND name = 'in_proj_weight'),
         (SELECT array_agg(r ORDER BY i) FROM ma_rows WHERE model = 'ma_8x2' AND name = 'out_proj.weight'),
         2,
         (SELECT data::ruvector FROM ruvector_model_tensors WHERE model = 'ma_8x2' AND name = 'in_proj_bias'),
         (SELECT data::ruvector FROM ruvector_model_tensors WHERE model = 'ma_8x2' AND name = 'out_proj.bias'))
       AS same_as_arguments
FROM ma_cases WHERE name = 'ma_8x2';
-- an additive model gives the bits of ruvector_additive_attention with the same weights
SELECT ruvector_model_load('add_3', 'additive', ARRAY[
         ruvector_tensor('w_query', ARRAY[[0.5,-0.2,0.1],[0.3,0.8,-0.4]]::real[]),
         ruvector_tensor('w_key', ARRAY[[0.2,0.1],[-0.6,0.9]]::real[]),
         ruvector_tensor('v', ARRAY[1.5,-0.7]::real[])]) AS additive_config;
SELECT ruvector_model_attention('add_3', q, k, v) =
       ruvector_additive_attention(q, k, v, ARRAY['[0.5,-0.2,0.1]', '[0.3,0.8,-0.4]']::ruvector[],
                                   ARRAY['[0.2,0.1]', '[-0.6,0.9]']::ruvector[], '[1.5,-0.7]') AS same_as_arguments
FROM (SELECT ARRAY['[1,0,2]', '[0.5,0.5,-1]']::ruvector[] AS q, ARRAY['[1,2]', '[3,-1]', '[0,1]']::ruvector[] AS k,
             ARRAY['[1,0]', '[0,1]', '[2,2]']::ruvector[] AS v) t;
SELECT ruvector_model_load('add_3c', 'additive', ARRAY[
         ruvector_tensor('w_query', ARRAY[[0.5,-0.2,0.1],[0.3,0.8,-0.4]]::real[]),
         ruvector_tensor('w_key', ARRAY[[0.2,0.1],[-0.6,0.9]]::real[]),
         ruvector_tensor('v', ARRAY[1.5,-0.7]::real[])], '{"causal": true}') IS NOT NULL;
SELECT ruvector_model_attention('add_3c', q, k, v) =
       ruvector_additive_attention(q, k, v, ARRAY['[0.5,-0.2,0.1]', '[0.3,0.8,-0.4]']::ruvector[],
                                   ARRAY['[0.2,0.1]', '[-0.6,0.9]']::ruvector[], '[1.5,-0.7]', '{"causal": true}')
       AS causal_same_as_arguments
FROM (SELECT ARRAY['[1,0,2]', '[0.5,0.5,-1]']::ruvector[] AS q, ARRAY['[1,2]', '[3,-1]', '[0,1]']::ruvector[] AS k,
             ARRAY['[1,0]', '[0,1]', '[2,2]']::ruvector[] AS v) t;
SELECT ruvector_model_attention('add_3', ARRAY['[1,0]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,0]']::ruvector[]);
-- errors
SELECT ruvector_model_attention('ma_8x2', ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[]);
SELECT ruvector_model_attention('no_such', ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[]);
SELECT ruvector_model_load('ma_bad', 'multi_head', ARRAY[ruvector_tensor('in_proj_weight', ARRAY[[1,0],[0,1]]::real[]),
                                                       ruvector_tensor('out_proj.weight', ARRAY[[1,0],[0,1]]::real[])]);
SELECT ruvector_model_load('ma_bad', 'multi_head',
         ARRAY[ruvector_tensor('in_proj_weight', ARRAY[[1,0],[0,1],[1,0],[0,1],[1,0],[0,1]]::real[]),
               ruvector_tensor('out_proj.weight', ARRAY[[1,0],[0,1]]::real[])], '{"num_heads": 3}');
SELECT ruvector_model_load('ma_gate', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[[1,0]]::real[])]) IS NOT NULL;
SELECT ruvector_model_attention('ma_gate', ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[]);
SELECT ruvector_model_attention('mla_8', ARRAY['[1,2,3,4,5,6,7,8]']::ruvector[], ARRAY['[1,2,3,4,5,6,7,8]']::ruvector[],
                                ARRAY['[1,2,3,4,5,6,7,9]']::ruvector[]);
SELECT ruvector_model_attention('th_2x4', ARRAY['[1,2,3]']::ruvector[], ARRAY['[1,2,3]']::ruvector[], ARRAY['[1,2]']::ruvector[]);
SELECT ruvector_model_load('th_bad', 'talking_heads', ARRAY[ruvector_tensor('logits_proj', ARRAY[[1,0],[0,1]]::real[]),
                                                          ruvector_tensor('weights_proj', ARRAY[[1,0,0],[0,1,0],[0,0,1]]::real[])]);
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], 'talking_heads');
SELECT name, family, sql_forms FROM ruvector_attention_types() WHERE name IN ('talking_heads', 'multi_head_latent', 'differential') ORDER BY name;
SELECT ruvector_model_drop(name) FROM ruvector_models ORDER BY name;

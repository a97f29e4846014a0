-- Masks, positions and normalisers on the sequence form. Their agreement
-- with torch SDPA (dense masks and biases), entmax and numpy is tested in
-- the unit tests (tests/fixtures/patterns.txt); here: the SQL surface, the
-- properties that tie the mechanisms together, and the errors.
CREATE TEMP TABLE s AS
  SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i)]::real[]::ruvector AS x FROM generate_series(0, 11) i;
CREATE TEMP TABLE a AS SELECT array_agg(x ORDER BY i) AS x FROM s;
CREATE FUNCTION rounded(v ruvector) RETURNS numeric[] LANGUAGE sql IMMUTABLE
  AS $$ SELECT array_agg(round(e::numeric, 5)) FROM unnest(v::real[]) e $$;
CREATE FUNCTION close(a ruvector[], b ruvector[]) RETURNS boolean LANGUAGE sql IMMUTABLE
  AS $$ SELECT bool_and((a[i] <-> b[i]) <= 1e-6 * greatest(ruvector_norm(b[i]), 1e-3)) FROM generate_subscripts(a, 1) i $$;

-- query 3 of 12 under each mechanism
CREATE TEMP TABLE jit AS
SELECT t, p, ruvector_attention(x, x, x, t, p::jsonb) AS o
FROM a, (VALUES ('dilated_window', '{"window": 2, "dilation": 2}'), ('longformer', '{"window": 1, "global_tokens": 1}'),
                ('strided', '{"stride": 3}'), ('fixed_sparse', '{"stride": 4, "summary": 1}'),
                ('block_local', '{"sparse_block": 4}'), ('bigbird', '{"sparse_block": 2, "random_blocks": 1, "seed": 3}'),
                ('alibi', '{"num_heads": 2}'), ('rope', '{"num_heads": 2}'), ('sigmoid', '{}'),
                ('sparsemax', '{}'), ('entmax15', '{"causal": true}'), ('topk_sparse', '{"top_k": 3}')) v(t, p);
SELECT t, rounded(o[4]) AS row_3 FROM jit ORDER BY t;

-- masks that hide nothing give plain attention; dilation 1 is the sliding window, bit for bit
SELECT close(ruvector_attention(x, x, x, 'longformer', '{"window": 12, "global_tokens": 0}'), ruvector_attention(x, x, x)) AS wide_band,
       close(ruvector_attention(x, x, x, 'block_local', '{"sparse_block": 12}'), ruvector_attention(x, x, x)) AS one_block,
       close(ruvector_attention(x, x, x, 'bigbird', '{"sparse_block": 6}'), ruvector_attention(x, x, x)) AS two_bigbird_blocks,
       close(ruvector_attention(x, x, x, 'topk_sparse', '{"top_k": 12}'), ruvector_attention(x, x, x)) AS all_keys_kept,
       ruvector_attention(x, x, x, 'dilated_window', '{"window": 3, "dilation": 1}')
         = ruvector_attention(x, x, x, 'sliding_window', '{"window": 3}') AS dilation_1_is_the_window,
       close(ruvector_attention(x, x, x, 'strided', '{"stride": 1}'), ruvector_attention(x, x, x, 'causal')) AS stride_1_is_causal
FROM a;

-- top_k 1 and a peaked sparsemax pick one value row; ALiBi at position 0 with
-- the causal mask sees key 0 only
SELECT ruvector_attention(ARRAY['[1,0]']::ruvector[], ARRAY['[9,0]', '[0,9]', '[-9,0]']::ruvector[],
                          ARRAY['[1]', '[2]', '[3]']::ruvector[], 'topk_sparse', '{"top_k": 1}') AS top_1,
       ruvector_attention(ARRAY['[1,0]']::ruvector[], ARRAY['[9,0]', '[0,9]', '[-9,0]']::ruvector[],
                          ARRAY['[1]', '[2]', '[3]']::ruvector[], 'sparsemax') AS sparsemax_one_hot,
       ruvector_attention(ARRAY['[1,0]']::ruvector[], ARRAY['[9,0]', '[0,9]']::ruvector[],
                          ARRAY['[1]', '[2]']::ruvector[], 'alibi') AS alibi_first;

-- sigmoid weighs each key on its own: one key of logit 0 with bias 0 gives v / 2
SELECT ruvector_attention(ARRAY['[0,1]']::ruvector[], ARRAY['[1,0]']::ruvector[], ARRAY['[4,-2]']::ruvector[],
                          'sigmoid', '{"bias": 0}') AS half_of_v;

-- feature maps on the linear schedule: FAVOR+ estimates the softmax (closer
-- with more random features), cosFormer re-weights by distance
SELECT max(p <-> d) < 0.05 AS performer_near_softmax, max(c <-> d) > 0 AS cosformer_differs
FROM (SELECT unnest(ruvector_attention(x, x, x, 'performer', '{"num_features": 8192, "seed": 1}')) p,
             unnest(ruvector_attention(x, x, x, 'cosformer')) c,
             unnest(ruvector_attention(x, x, x)) d FROM a) r;
SELECT rounded((ruvector_attention(x, x, x, 'cosformer', '{"causal": true}'))[4]) AS cosformer_row_3 FROM a;

-- the plan says what runs
SELECT line FROM ruvector_jit_explain('bigbird', 64, '{"num_heads": 2, "seed": 5}') AS line WHERE line LIKE 'Sequence%';
SELECT line FROM ruvector_jit_explain('alibi', 16, '{"num_heads": 4}') AS line
  WHERE line LIKE 'Sequence%' OR line LIKE '    Params%' OR line LIKE '%position%';
SELECT line FROM ruvector_jit_explain('entmax15', 16) AS line WHERE line LIKE '  Schedule%';

-- errors name what is wrong and what is allowed
SELECT ruvector_attention(ARRAY['[1,2,3]']::ruvector[], ARRAY['[1,2,3]']::ruvector[], ARRAY['[1]']::ruvector[], 'rope');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'fixed_sparse', '{"stride": 2, "summary": 3}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'dilated_window', '{"dilation": 0}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'bigbird', '{"seed": 1.5}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'bigbird', '{"random_blocks": 100}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'sigmoid', '{"bias": "x"}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'alibi', '{"slope": 1}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'topk_sparse', '{"top_k": 0}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'longformer', '{"window": -1}');

SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'performer', '{"num_features": 0}');
SELECT line FROM ruvector_jit_explain('performer', 8, '{"num_features": 256}') AS line WHERE line LIKE '  Schedule%';

-- the interpreter gives the same bits
SET ruvector_jit.enabled = off;
SELECT bool_and(o = ruvector_attention(x, x, x, t, p::jsonb)) AS interpreter_agrees, count(*) FROM jit, a;
RESET ruvector_jit.enabled;
DROP FUNCTION rounded(ruvector), close(ruvector[], ruvector[]);

-- The sparse normalisers with overflowed logits: an error, never a crash
-- (the logits' candidates for the support would be empty).
SELECT ruvector_attention_weights('[2.64697264e+38]'::ruvector,
  ARRAY['[3e38]', '[-3e38]', '[1]']::ruvector[], 'sparsemax');
SELECT ruvector_attention_weights('[2.64697264e+38]'::ruvector,
  ARRAY['[3e38]', '[-3e38]', '[1]']::ruvector[], 'entmax15');
SELECT ruvector_attention(ARRAY['[3e38,3e38]'::ruvector, '[1,2]'], ARRAY['[3e38,3e38]'::ruvector, '[1,1]'],
  ARRAY['[1,2]'::ruvector, '[3,4]'], 'sparsemax');
SELECT ruvector_attention(ARRAY['[3e38,3e38]'::ruvector, '[1,2]'], ARRAY['[-3e38,-3e38]'::ruvector, '[1,1]'],
  ARRAY['[1,2]'::ruvector, '[3,4]'], 'entmax15');

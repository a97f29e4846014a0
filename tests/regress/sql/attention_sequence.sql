-- ruvector_attention: L queries over S (key, value) rows, heads, masks.
-- Checked against a plain-SQL float8 transcription of
-- softmax(q_h . k_h / sqrt(d_h) [+ causal mask]) . v_h, per head h.
-- (The torch SDPA / nn.MultiheadAttention fixtures are checked in tests/unit.)
SELECT ruvector_attention(ARRAY['[1,0]', '[0,1]']::ruvector[],
                          ARRAY['[1,0]', '[0,1]', '[1,1]']::ruvector[],
                          ARRAY['[1,2]', '[3,4]', '[5,6]']::ruvector[]);

CREATE TABLE seq AS
  SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(3 * i), sin(5 * i), cos(7 * i)]::real[]::ruvector AS q,
            ARRAY[cos(i), sin(i * 1.5), cos(2.5 * i), sin(3.5 * i), cos(i * 0.5), sin(i * 0.25)]::real[]::ruvector AS k,
            ARRAY[i % 3, sin(i), cos(i), i % 5]::real[]::ruvector AS v
  FROM generate_series(0, 39) i;

-- the reference: 2 heads of 3 (query/key) and 2 (value) dimensions, causal
CREATE TEMP TABLE ref AS
WITH logits AS (
  SELECT a.i, b.i AS j, h,
         (SELECT sum(x::float8 * y) FROM unnest((a.q::real[])[h * 3 + 1:h * 3 + 3], (b.k::real[])[h * 3 + 1:h * 3 + 3]) u(x, y)) / sqrt(3) AS s
  FROM seq a, seq b, generate_series(0, 1) h WHERE b.i <= a.i),
w AS (SELECT i, j, h, exp(s - max(s) OVER (PARTITION BY i, h)) AS e FROM logits)
SELECT w.i, w.h * 2 + c.n AS dim, sum(w.e * (b.v::real[])[w.h * 2 + c.n]) / sum(w.e) AS out
FROM w JOIN seq b ON b.i = w.j, generate_series(1, 2) c(n)
GROUP BY w.i, w.h, c.n;

CREATE TEMP TABLE got AS
SELECT r.i - 1 AS i, d.dim, d.x
FROM unnest(ruvector_attention((SELECT array_agg(q ORDER BY i) FROM seq), (SELECT array_agg(k ORDER BY i) FROM seq),
                               (SELECT array_agg(v ORDER BY i) FROM seq), 'causal',
                               '{"num_heads": 2, "block_size": 7}')) WITH ORDINALITY r(o, i),
     unnest(r.o::real[]) WITH ORDINALITY d(x, dim);
SELECT count(*) AS values_compared, bool_and(abs(g.x - r.out) <= 1e-5 * abs(r.out) + 1e-6) AS causal_matches_reference
FROM got g JOIN ref r USING (i, dim);

-- the same attention through other mechanisms: flash_v2 with other key
-- blocks agrees with scaled_dot to fp32 rounding (the block size changes the
-- order of the sums, so not every bit), cross is scaled_dot, multi_query
-- with one key/value head equals grouped_query with num_kv_heads 1
WITH a AS (SELECT array_agg(q ORDER BY i) AS q, array_agg(k ORDER BY i) AS k, array_agg(v ORDER BY i) AS v FROM seq),
r AS (SELECT ruvector_attention(q, k, v, 'scaled_dot', '{"num_heads": 2}') AS dense,
             ruvector_attention(q, k, v, 'flash_v2', '{"num_heads": 2, "block_size": 3}') AS flash,
             ruvector_attention(q, k, v, 'cross') = ruvector_attention(q, k, v) AS cross_equals_scaled_dot
      FROM a)
SELECT (SELECT bool_and((dense[i] <-> flash[i]) <= 1e-6 * ruvector_norm(dense[i])) FROM generate_subscripts(dense, 1) i)
         AS flash_agrees_with_dense,
       cross_equals_scaled_dot
FROM r;
SELECT ruvector_attention(q, k, v, 'multi_query', '{"num_heads": 2}')
         = ruvector_attention(q, k, v, 'grouped_query', '{"num_heads": 2, "num_kv_heads": 1}') AS mqa_equals_gqa_1
FROM (SELECT array_agg(q ORDER BY i) AS q, array_agg('[1,2,3]'::ruvector) AS k, array_agg(v ORDER BY i) AS v FROM seq) a;
SELECT ruvector_attention(ARRAY['[1,0]']::ruvector[], ARRAY['[1,0]', '[0,1]']::ruvector[],
                          ARRAY['[1]', '[3]']::ruvector[], 'cosine', '{"tau": 10}');

-- sliding window: with window 1 (causal) each query sees only itself, so the
-- output is its own value; with window 1 (symmetric) query 0 sees keys 0, 1
SELECT ruvector_attention(ARRAY['[1]', '[2]', '[3]']::ruvector[], ARRAY['[1]', '[2]', '[3]']::ruvector[],
                          ARRAY['[10]', '[20]', '[30]']::ruvector[], 'sliding_window', '{"window": 1}');
SELECT ruvector_attention(ARRAY['[0]']::ruvector[], ARRAY['[0]', '[0]', '[0]']::ruvector[],
                          ARRAY['[10]', '[20]', '[30]']::ruvector[], 'sliding_window', '{"window": 1, "causal": false}');
-- a window as wide as the sequence is plain causal attention
WITH a AS (SELECT array_agg(q ORDER BY i) AS q, array_agg(k ORDER BY i) AS k, array_agg(v ORDER BY i) AS v FROM seq)
SELECT ruvector_attention(q, k, v, 'sliding_window', '{"window": 40, "num_heads": 2, "block_size": 64}')
     = ruvector_attention(q, k, v, 'causal', '{"num_heads": 2}') AS full_window_is_causal FROM a;
SELECT ruvector_attention(ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], 'sliding_window', '{"window": 0}');
SELECT ruvector_attention(ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], 'sliding_window', '{"causal": 1}');
SELECT ruvector_attention(ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[], 'sliding_window', '{"window": 2.5}');

-- linear attention (phi = elu + 1): by hand, phi(0) = 1 and phi(1) = 2, so
-- with keys [0], [1] and values [1], [3]: (1*1 + 2*3) / (1 + 2 + eps) = 2.3333326 (eps = 1e-6)
SELECT ruvector_attention(ARRAY['[0]']::ruvector[], ARRAY['[0]', '[1]']::ruvector[], ARRAY['[1]', '[3]']::ruvector[], 'linear');
-- causal: query 0 sees key 0 only (value 1); query 1 sees both
SELECT ruvector_attention(ARRAY['[0]', '[0]']::ruvector[], ARRAY['[0]', '[1]']::ruvector[], ARRAY['[1]', '[3]']::ruvector[], 'linear_causal');
-- the last causal row sees every key: it equals the non-causal result
WITH a AS (SELECT array_agg(q ORDER BY i) AS q, array_agg(k ORDER BY i) AS k, array_agg(v ORDER BY i) AS v FROM seq)
SELECT (ruvector_attention(q, k, v, 'linear_causal', '{"num_heads": 2}'))[40] <-> (ruvector_attention(q, k, v, 'linear', '{"num_heads": 2}'))[40] < 1e-5 AS last_row_agrees
FROM a;
-- the plan, then the product kernel (its schedule for a named ISA; keys name the host's)
SELECT regexp_replace(line, '/(avx512|avx2|neon|generic) ', '/<isa> ') AS line
  FROM ruvector_jit_explain('linear_causal', 64, '{"num_heads": 4}', isa => 'avx2') AS line
  WHERE line ~ '^(Sequence|  Schedule:|  Products|  Feature kernel|  Product kernel|  Panel kernel|    Score|    Schedule|    Cache key)';
-- the products run in the panel kernel, phi in the map's feature kernel:
-- one of each per ISA, any length (dims NULL)
SELECT regexp_replace(key, '/(avx512|avx2|neon|generic)$', '/<isa>') AS key, mechanism, dims, compiled
  FROM ruvector_jit_cache() WHERE key LIKE 'panel:%' OR key LIKE '%features:%' ORDER BY key;
-- with the JIT off the hand-written products run: the same bits
WITH a AS (SELECT array_agg(q ORDER BY i) AS q, array_agg(k ORDER BY i) AS k, array_agg(v ORDER BY i) AS v FROM seq)
SELECT ruvector_attention(q, k, v, 'performer', '{"num_heads": 2}')::text AS jit_performer,
       ruvector_attention(q, k, v, 'linear_causal', '{"num_heads": 2}')::text AS jit_causal FROM a \gset
SET ruvector_jit.enabled = off;
WITH a AS (SELECT array_agg(q ORDER BY i) AS q, array_agg(k ORDER BY i) AS k, array_agg(v ORDER BY i) AS v FROM seq)
SELECT ruvector_attention(q, k, v, 'performer', '{"num_heads": 2}')::text = :'jit_performer' AS performer_same_bits,
       ruvector_attention(q, k, v, 'linear_causal', '{"num_heads": 2}')::text = :'jit_causal' AS causal_same_bits FROM a;
RESET ruvector_jit.enabled;
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'linear', '{"eps": 0}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'linear', '{"block_size": 8}');

-- threads (oneTBB) split the query blocks: the same bits
CREATE TEMP TABLE one_thread AS
  SELECT ruvector_attention(array_agg(q ORDER BY i), array_agg(k ORDER BY i), array_agg(v ORDER BY i), 'causal',
                            '{"num_heads": 2, "block_size": 4}') AS o FROM seq;
SET ruvector_jit.threads = 2;
SELECT o = ruvector_attention(array_agg(q ORDER BY i), array_agg(k ORDER BY i), array_agg(v ORDER BY i), 'causal',
                              '{"num_heads": 2, "block_size": 4}') AS two_threads_same
FROM one_thread, seq GROUP BY o;
RESET ruvector_jit.threads;
SET ruvector_jit.threads = 0;

-- bad input
SELECT ruvector_attention('{}'::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[1]']::ruvector[], ARRAY['[1]', '[2]']::ruvector[], ARRAY['[1]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], ARRAY['[1]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[1,2]', '[1]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[1,2]', NULL]::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[1,2,3]']::ruvector[], ARRAY['[1,2,3]']::ruvector[], ARRAY['[1]']::ruvector[], 'scaled_dot', '{"num_heads": 2}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'flash_v2', '{"block_size": 0}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'flash_v2', '{"block_size": -4}');
SELECT ruvector_attention(ARRAY['[1,2,3,4]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], 'grouped_query', '{"num_heads": 4, "num_kv_heads": 3}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'scaled_dot', '{"heads": 2}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'scaled_dot', '{"num_heads": 1.5}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'scaled_dot', '{"num_heads": 1e10}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'flash_v2', '{"block_size": 100000}');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'mixed_curvature');
SELECT ruvector_attention(ARRAY['[1,2]']::ruvector[], ARRAY['[1,2]']::ruvector[], ARRAY['[1]']::ruvector[], 'bogus');

-- a long call is cancellable: 16k x 16k pairs of 128 dimensions (about 1.4 s
-- of work on one core) stop at statement_timeout
CREATE TEMP TABLE long AS
  SELECT array_agg(x) AS x
  FROM (SELECT (SELECT array_agg(sin(i * j + j))::real[]::ruvector FROM generate_series(1, 128) j) AS x
        FROM generate_series(1, 16384) i) rows;
SET work_mem = '64MB';  -- the 8 MB result, twice, and the step buffers
SET statement_timeout = '300ms';
SELECT ruvector_dims((ruvector_attention(x, x, x))[1]) FROM long;
SET ruvector_jit.threads = 2;
SELECT ruvector_dims((ruvector_attention(x, x, x, 'flash_v2'))[1]) FROM long;
RESET ruvector_jit.threads;
RESET statement_timeout;
RESET work_mem;
-- nn.MultiheadAttention with learned weights: identity weights and no bias
-- give the identity-projection multi_head bit for bit; then weights and biases
CREATE TEMP TABLE w AS
  SELECT (SELECT array_agg(ARRAY[(r % 3 = 0)::int, (r % 3 = 1)::int, (r % 3 = 2)::int]::real[]::ruvector ORDER BY r)
          FROM generate_series(0, 8) r) AS in_identity,
         ARRAY['[1,0,0]', '[0,1,0]', '[0,0,1]']::ruvector[] AS out_identity;
WITH a AS (SELECT array_agg(ARRAY[sin(i), cos(i), sin(2 * i)]::real[]::ruvector ORDER BY i) AS x
           FROM generate_series(1, 5) i)
SELECT ruvector_multi_head_attention(x, x, x, in_identity, out_identity, 3)
         = ruvector_attention(x, x, x, 'multi_head', '{"num_heads": 3}') AS identity_is_multi_head
FROM a, w;
SELECT ruvector_multi_head_attention(ARRAY['[1,0]', '[0,1]']::ruvector[], ARRAY['[1,0]', '[0,1]']::ruvector[],
                                     ARRAY['[1,2]', '[3,4]']::ruvector[],
                                     ARRAY['[1,0]', '[0,1]', '[2,0]', '[0,2]', '[1,1]', '[1,-1]']::ruvector[],
                                     ARRAY['[0,1]', '[1,0]']::ruvector[], num_heads => 2,
                                     in_bias => '[0,0,0,0,0.5,0.5]', out_bias => '[10,20]') AS projected;
SELECT ruvector_multi_head_attention(ARRAY['[1,0]']::ruvector[], ARRAY['[1,0]']::ruvector[], ARRAY['[1,2]']::ruvector[],
                                     ARRAY['[1,0]', '[0,1]']::ruvector[], ARRAY['[0,1]', '[1,0]']::ruvector[]);
SELECT ruvector_multi_head_attention(ARRAY['[1,0]']::ruvector[], ARRAY['[1,0]']::ruvector[], ARRAY['[1,2]']::ruvector[],
                                     ARRAY['[1,0]', '[0,1]', '[1,0]', '[0,1]', '[1,0]', '[0,1]']::ruvector[],
                                     ARRAY['[0,1]', '[1,0]']::ruvector[], 3);
SELECT ruvector_multi_head_attention(ARRAY['[1,0]']::ruvector[], ARRAY['[1,0]']::ruvector[], ARRAY['[1,2]']::ruvector[],
                                     ARRAY['[1,0]', '[0,1]', '[1,0]', '[0,1]', '[1,0]', '[0,1]']::ruvector[],
                                     ARRAY['[0,1]', '[1,0]']::ruvector[], in_bias => '[1,2]');
SELECT ruvector_multi_head_attention(NULL, ARRAY['[1,0]']::ruvector[], ARRAY['[1,2]']::ruvector[],
                                     ARRAY['[1,0]']::ruvector[], ARRAY['[1,0]']::ruvector[]) IS NULL AS null_in_null_out;
DROP TABLE seq, w;
-- float32 overflow (3e38 * 3e38) is an error, never a NaN result or weight
SELECT ruvector_attention(ARRAY['[3e38,3e38]','[1,2]']::ruvector[], ARRAY['[3e38,-3e38]','[1,1]']::ruvector[],
                          ARRAY['[3e38,3e38]','[1,1]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[3e38,3e38]','[1,2]']::ruvector[], ARRAY['[3e38,-3e38]','[1,1]']::ruvector[],
                          ARRAY['[3e38,3e38]','[1,1]']::ruvector[], 'cosine');
-- the linear family writes its rows straight into the result: an overflow
-- in the second row is still named by its place in the whole result
SELECT ruvector_attention(ARRAY['[1,2]','[1,1]']::ruvector[], ARRAY['[1,2]','[1,1]']::ruvector[],
                          ARRAY['[1,1]','[3e38,3e38]']::ruvector[], 'linear_causal');
SELECT ruvector_attention_score('[3e38,3e38]'::ruvector, '[3e38,-3e38]'::ruvector);
SELECT ruvector_attention_weights('[3e38,3e38]', ARRAY['[3e38,3e38]','[1,1]']::ruvector[]);
SELECT ruvector_attend('[3e38,3e38]', e, e) FROM unnest(ARRAY['[3e38,-3e38]','[1,1]']::ruvector[]) e;
SELECT ruvector_multi_head_attention(ARRAY['[3e38,3e38]']::ruvector[], ARRAY['[3e38,3e38]']::ruvector[],
                                     ARRAY['[3e38,3e38]']::ruvector[], ARRAY['[1,1]','[1,1]','[1,1]','[1,1]','[1,1]','[1,1]']::ruvector[],
                                     ARRAY['[1,1]','[1,1]']::ruvector[], 1);
-- ... also when every logit overflows to -infinity (zeros would be wrong)
SELECT ruvector_attention(ARRAY['[3e38,3e38]']::ruvector[], ARRAY['[-3e38,-3e38]','[-3e38,-3e38]']::ruvector[],
                          ARRAY['[1,1]','[2,2]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[3e38,3e38]','[1,1]']::ruvector[], ARRAY['[-3e38,-3e38]','[-3e38,-3e38]']::ruvector[],
                          ARRAY['[1,1]','[2,2]']::ruvector[]);
SELECT ruvector_attention(ARRAY['[3e38,3e38]','[1,1]']::ruvector[], ARRAY['[-3e38,-3e38]','[-3e38,-3e38]']::ruvector[],
                          ARRAY['[1,1]','[2,2]']::ruvector[], 'sparsemax');
SELECT ruvector_attention_score('[3e38,3e38]'::ruvector, '[-3e38,-3e38]'::ruvector);
SELECT ruvector_attend('[3e38,3e38]', e, e) FROM unnest(ARRAY['[-3e38,-3e38]','[-1,-1]']::ruvector[]) e;
SELECT ruvector_additive_score('[1,1]', '[1,1]', ARRAY['[1,1]','[1,1]']::ruvector[], ARRAY['[1,1]','[1,1]']::ruvector[],
                               '[3e38,3e38]');
-- a fully masked row is not an overflow: zeros, as torch gives
SELECT ruvector_attention(ARRAY['[1,0]','[0,1]','[1,1]']::ruvector[], ARRAY['[1,0]']::ruvector[], ARRAY['[5,6]']::ruvector[],
                          'sliding_window', '{"window": 1}');
-- large arrays stored out of line are read from their TOAST table into a
-- mapping of their own: the same result as the array in memory
CREATE TABLE big_seq AS
  SELECT array_agg(ARRAY(SELECT sin(i * 512 + j)::real FROM generate_series(1, 512) j)::ruvector ORDER BY i) AS x,
         array_agg(ARRAY(SELECT cos(i * 512 + j)::real FROM generate_series(1, 512) j)::ruvector ORDER BY i) AS y
  FROM generate_series(1, 600) i;
SELECT pg_column_size(x) > 1200000 AS out_of_line, pg_column_compression(x) IS NULL AS uncompressed FROM big_seq;
SELECT ruvector_attention(x, y, x, t, '{"num_heads": 8}')::text
     = ruvector_attention(x || '{}'::ruvector[], y || '{}'::ruvector[], x || '{}'::ruvector[], t, '{"num_heads": 8}')::text AS same
  FROM big_seq, (VALUES ('linear'), ('performer'), ('scaled_dot')) m(t);
-- an error after the mapping (512 dims in 7 heads) leaves nothing behind
SELECT ruvector_attention(x, x, x, 'linear', '{"num_heads": 7}') FROM big_seq;
SELECT (ruvector_attention(x, x, x, 'linear', '{"num_heads": 8}'))[1] = (ruvector_attention(x, x, x, 'linear', '{"num_heads": 8}'))[1] AS after_error FROM big_seq;
-- compressed ones take PostgreSQL's own path
CREATE TABLE big_zeros (x ruvector[]);
INSERT INTO big_zeros SELECT array_agg(ARRAY(SELECT 0::real FROM generate_series(1, 512 + i * 0))::ruvector) FROM generate_series(1, 600) i;
SELECT pg_column_compression(x) IS NOT NULL AS compressed,
       ruvector_attention(x, x, x, 'linear', '{"num_heads": 8}')::text
     = ruvector_attention(x || '{}'::ruvector[], x, x, 'linear', '{"num_heads": 8}')::text AS same
  FROM big_zeros;
DROP TABLE big_seq, big_zeros;

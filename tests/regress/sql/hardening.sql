-- Hardening: the hostile inputs that hung, wrapped or were slow to cancel,
-- and the limits every call is checked against.
SET client_min_messages = warning;
CREATE TEMP TABLE seq AS
  SELECT array_agg(('[' || i || ',1]')::ruvector ORDER BY i) AS a FROM generate_series(1, 192) i;

-- BigBird with negative globals looped forever; counts are checked against
-- their ranges before they become integers
SELECT ruvector_attention(a, a, a, 'bigbird', '{"global_blocks": -3}') FROM seq;
SELECT ruvector_attention(a, a, a, 'bigbird', '{"random_blocks": -1}') FROM seq;
SELECT ruvector_attention(a, a, a, 'longformer', '{"global_tokens": -1}') FROM seq;
SELECT ruvector_attention(a, a, a, 'longformer', '{"global_tokens": -1e20}') FROM seq;
SELECT ruvector_attention(a, a, a, 'dilated_window', '{"window": 2147483648}') FROM seq;
SELECT * FROM ruvector_jit_explain('longformer', 8, '{"global_tokens": -1e20}');
SELECT * FROM ruvector_jit_explain('bigbird', 8, '{"seed": 1e300}');
SELECT ruvector_attention(a, a, a, 'bigbird', '{"global_blocks": 2, "random_blocks": 64, "sparse_block": 4}') IS NOT NULL
  AS bigbird_ok FROM seq;

-- window x dilation past 2^31 wrapped to zeros; each query sees itself only
SELECT ruvector_attention(a, a, a, 'dilated_window', '{"window": 65536, "dilation": 32768}') = a AS itself
  FROM seq;
SELECT ruvector_attention(a, a, a, 'dilated_window', '{"window": 1073741824, "dilation": 1073741824, "causal": false}') = a
  AS itself_both_ways FROM seq;

-- ALiBi slopes follow Press et al.'s reference for any head count (3: 1/16, 1/256, 1/4)
SELECT line FROM ruvector_jit_explain('alibi', 6, '{"num_heads": 3}') AS line WHERE line LIKE 'Sequence%';
SELECT line FROM ruvector_jit_explain('alibi', 12, '{"num_heads": 6}') AS line WHERE line LIKE 'Sequence%';

-- every parameter's kind, range and default, from its spec
SELECT name, parameters FROM ruvector_attention_types() WHERE name IN ('bigbird', 'dilated_window', 'sigmoid', 'cosine')
  ORDER BY name;

-- working memory is checked against work_mem before anything is allocated (54000)
SET work_mem = '64kB';
\set VERBOSITY default
SELECT ruvector_attention(a || a || a || a || a || a, a, a, 'scaled_dot') FROM seq;
SELECT ruvector_attention(a, a, a, 'scaled_dot') IS NOT NULL AS small_enough FROM seq;
RESET work_mem;

-- settings: who may set what
SET ruvector_jit.cache_dir = '/tmp';
SET ruvector_jit.cache_dir_size = '1GB';
SET ruvector_jit.threads = 64;
SET ruvector_jit.max_threads = 2;
SELECT count(*) FILTER (WHERE line LIKE '%on 2 thread(s)%') AS capped_at_max_threads
  FROM ruvector_jit_explain('causal', 8) AS line;
RESET ruvector_jit.threads;
RESET ruvector_jit.max_threads;

-- Cancel: every path checks for interrupts between bounded steps and polls
-- inside them. test_poll_delay makes each poll sleep, so that these small
-- calls outlive the statement_timeout at a poll of the path under test.
CREATE TEMP TABLE big AS
  SELECT (SELECT array_agg(('[' || (i % 7) * 0.01 || ',' || (i % 5) * 0.01 || ',0.01,0.02]')::ruvector)
            FROM generate_series(1, 512) i) AS k,
         (SELECT array_agg(('[' || (i % 3) * 0.01 || ',0.02,0.03,' || (i % 11) * 0.01 || ']')::ruvector)
            FROM generate_series(1, 64) i) AS q,
         ARRAY['[0.01,0.02,0.03,0.04]']::ruvector[] AS q1,
         ARRAY['[1,0,0,0]', '[0,1,0,0]', '[0,0,1,0]']::ruvector[] AS w;
SET ruvector_jit.test_poll_delay = 20000;
SET statement_timeout = '100ms';
SELECT ruvector_attention(q, k, k, 'scaled_dot', '{"block_size": 16}') FROM big;          -- tile
SELECT ruvector_attention(q1, k, k, 'scaled_dot', '{"block_size": 16}') FROM big;         -- single query
SELECT ruvector_attention(q, k, k, 'poincare', '{"block_size": 16}') FROM big;            -- per-row
SELECT ruvector_attention(q, k, k, 'sparsemax') FROM big;                                 -- normaliser
SELECT ruvector_attention(q, k, k, 'linear') FROM big;                                    -- linear
SELECT ruvector_additive_attention(q, k, k, w, w, '[1,1,1]', '{"block_size": 16}') FROM big;  -- additive
SELECT ruvector_multi_head_attention(q, k, k, k[1:12], k[1:4], 2) FROM big;               -- projections
SET ruvector_jit.threads = 2;
SELECT ruvector_attention(q, k, k, 'scaled_dot', '{"block_size": 16}') FROM big;          -- on worker threads
RESET ruvector_jit.threads;
SET ruvector_jit.test_poll_delay = 40000;
SELECT ruvector_jit_cache_reset() >= 0 AS reset;
SELECT count(*) FROM ruvector_jit_explain('cosine', 4093);                                 -- compile
RESET statement_timeout;
RESET ruvector_jit.test_poll_delay;
-- afterwards everything works
SELECT ruvector_attention(q, k, k, 'scaled_dot') IS NOT NULL AS works FROM big;

-- Tiny vectors: float32 sums of entries near 1e-23 underflowed (<-> gave 0,
-- <=> NaN, cosine "a zero vector"); they now give what float64 gives
SELECT '[1e-23,2e-23]'::ruvector <-> '[3e-23,1e-23]' AS l2,
       sqrt((1e-23::float8 - 3e-23)^2 + (2e-23::float8 - 1e-23)^2) AS l2_float64;
SELECT '[1e-23,2e-23]'::ruvector <=> '[3e-23,1e-23]' AS cosine_distance;
SELECT ruvector_attention_score('[1e-23,2e-23]'::ruvector, '[3e-23,1e-23]', 'cosine') AS cosine;
SELECT ('[1e-22,2e-22,3e-22]'::ruvector <#> '[3e-22,1e-22,2e-22]') / -(1e-22 * 3e-22 + 2e-22 * 1e-22 + 3e-22 * 2e-22) AS ip_ratio;
-- and ordinary vectors keep their bits
SELECT '[1,2]'::ruvector <-> '[3,1]' AS l2, '[1,2]'::ruvector <=> '[3,1]' AS cos, '[1,2]'::ruvector <#> '[3,1]' AS ip;

-- The type, the operators and the native scores never load the code
-- generator (libLLVM); the first compile does
\c
SELECT '[1,2,3]'::ruvector <-> '[4,5,6]' AS l2, '[1,2,3]'::ruvector <#> '[4,5,6]' AS ip,
       ruvector_attention_score('[1,2,3]'::ruvector, '[4,5,6]') AS score,
       ruvector_attention_score('[1,2,3]'::ruvector, '[4,5,6]', 'cosine') AS cosine;
SELECT pg_read_file('/proc/' || pg_backend_pid() || '/maps') LIKE '%libLLVM%' AS llvm_mapped;
-- explain says which kernels per-row calls run natively
SELECT (SELECT count(*) FROM ruvector_jit_explain('negative_inner_product', 8) l WHERE l LIKE '%native kernel%') AS ip_native,
       (SELECT count(*) FROM ruvector_jit_explain('poincare', 8) l WHERE l LIKE '%native kernel%') AS poincare_native;
SELECT ruvector_attention_score('[0.1,0.2,0.3]'::ruvector, '[0.3,0.2,0.1]', 'poincare') < 0 AS compiled;
SELECT pg_read_file('/proc/' || pg_backend_pid() || '/maps') LIKE '%libLLVM%' AS llvm_mapped;

-- pg_terminate_backend ends a long call too (the probe sees ProcDiePending)
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('victim', 'dbname=' || current_database()) AS connected;
SELECT pid AS victim FROM dblink('victim', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_send_query('victim', $$
  SET ruvector_jit.test_poll_delay = 20000;
  SELECT ruvector_attention(q, k, k, 'scaled_dot', '{"block_size": 8}')
  FROM (SELECT array_agg(ARRAY[i % 7, i % 5, 1, 2]::real[]::ruvector) AS k FROM generate_series(1, 512) i) a,
       (SELECT array_agg(ARRAY[i % 3, 2, 3, i % 11]::real[]::ruvector) AS q FROM generate_series(1, 64) i) b
$$) AS sent;
SELECT pg_sleep(0.2);
-- (the call runs over a second at 20 ms per poll; terminate waits 300 ms at most)
SELECT pg_terminate_backend(:victim, 300) AS terminated_within_300ms;
SELECT dblink_disconnect('victim') AS disconnected;

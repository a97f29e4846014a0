-- ruvector_jit_explain: IR, ISA, cache key, source, compile time, assembly.
-- Machine-dependent lines (ISA, timings, assembly) are checked by shape.
SELECT line FROM ruvector_jit_explain('cosine', 7) AS line WHERE line LIKE 'Kernel%' OR line LIKE '  Score%';
SELECT count(*) = 1 AS has_isa FROM ruvector_jit_explain('cosine', 7) AS line
  WHERE line ~ '^  ISA: (avx512|avx2|neon|generic) ';
SELECT regexp_replace(line, '/(avx512|avx2|neon|generic) .*', '/<isa>') AS key
  FROM ruvector_jit_explain('cosine', 7) AS line WHERE line LIKE '  Cache key%';
-- first call compiles; the next one comes from the cache
SELECT regexp_replace(line, '\(hits \d+\)', '') FROM ruvector_jit_explain('scaled_dot', 1234) AS line WHERE line LIKE '  Source%';
SELECT line FROM ruvector_jit_explain('scaled_dot', 1234) AS line WHERE line LIKE '  Source%';
SELECT count(*) = 1 AS has_compile_time FROM ruvector_jit_explain('scaled_dot', 1234) AS line
  WHERE line ~ '^  Compile time: [0-9.]+ ms';
-- the IR, verbatim (the LLVM IR for a fixed ISA, whatever the host)
SELECT line FROM ruvector_jit_explain('scaled_dot', 4, isa => 'avx512') AS line WHERE line LIKE '    kernel%' OR line LIKE '      %';
-- assembly for the host: a return and vector FMAs or multiplies
SELECT count(*) > 0 AS has_assembly FROM ruvector_jit_explain('scaled_dot', 384) AS line
  WHERE line ~ '\m(ret|vfmadd|fmla|mulps)';
-- the kernel behind ruvector_hyperbolic_distance is inspectable too
SELECT line FROM ruvector_jit_explain('poincare_distance', 3) AS line WHERE line LIKE 'Kernel%';
-- bad input
SELECT * FROM ruvector_jit_explain('nope', 8);
SELECT * FROM ruvector_jit_explain('scaled_dot', 0);
SELECT * FROM ruvector_jit_explain('scaled_dot', 16001);

-- params are shown (and checked); a named ISA renders that ISA's code
SELECT line FROM ruvector_jit_explain('cosine', 20, '{"tau": 0.5}') AS line WHERE line LIKE '  Params%';
SELECT line FROM ruvector_jit_explain('cosine', 20, isa => 'neon') AS line WHERE line LIKE '  Schedule%';
SELECT count(*) > 0 AS neon_fmla FROM ruvector_jit_explain('scaled_dot', 384, isa => 'neon') AS line WHERE line ~ 'fmla\s+v';
SELECT count(*) > 0 AS avx512_zmm FROM ruvector_jit_explain('scaled_dot', 384, isa => 'avx512') AS line WHERE line ~ 'vfmadd\w+\s.*zmm';
SELECT count(*) > 0 AS avx2_ymm FROM ruvector_jit_explain('scaled_dot', 384, isa => 'avx2') AS line WHERE line ~ 'vfmadd\w+\s.*ymm';
SELECT * FROM ruvector_jit_explain('scaled_dot', 8, isa => 'sse9');
SELECT * FROM ruvector_jit_explain('cosine', 8, '{"tau": 0}');
SELECT * FROM ruvector_jit_explain('cosine', 8, '{"temperature": 1}');
SELECT * FROM ruvector_jit_explain('cosine', 8, NULL);
SELECT * FROM ruvector_jit_explain(NULL, 8);

-- sequence mechanisms: the plan (heads, mask, blocks, threads), then the
-- per-head tile kernel (its schedule shown for a named ISA; keys name the host's)
SELECT regexp_replace(line, '/(avx512|avx2|neon|generic) ', '/<isa> ') AS line
  FROM ruvector_jit_explain('grouped_query', 512, '{"num_heads": 8, "num_kv_heads": 2}', isa => 'avx2') AS line
  WHERE line LIKE 'Sequence%' OR line LIKE '  Schedule%' OR line LIKE '  Calls%' OR line LIKE '  Tile kernel%'
     OR line LIKE '    Schedule%';
-- the linear family's products: the panel kernel, its register blocks per ISA
SELECT line FROM ruvector_jit_explain('performer', 64, isa => 'neon') AS line WHERE line LIKE '    Schedule%';
SELECT line FROM ruvector_jit_explain('performer', 64, isa => 'avx512') AS line WHERE line LIKE '    Schedule%';
SET ruvector_jit.threads = 2;
SELECT line FROM ruvector_jit_explain('causal', 64, '{"block_size": 16}') AS line WHERE line LIKE 'Sequence%' OR line LIKE '  Schedule%';
RESET ruvector_jit.threads;
SELECT * FROM ruvector_jit_explain('causal', 10, '{"num_heads": 3}');
SELECT * FROM ruvector_jit_explain('multi_query', 8, '{"num_kv_heads": 2}');

-- the kernel cache: listing, bounded size, reset
SELECT ruvector_jit_cache_reset() >= 0 AS reset;
SELECT count(*) FROM ruvector_jit_cache();
-- (the operators and the scaled_dot and cosine scores run native kernels,
-- runtime/native.h: they never enter this cache)
SELECT ruvector_attention_score('[1,2,3]'::ruvector, '[4,5,6]'::ruvector) IS NOT NULL AS native;
SELECT count(*) FROM ruvector_jit_cache();
SELECT ruvector_attention_score('[0.1,0.2,0.3]'::ruvector, '[0.3,0.1,0.2]'::ruvector, 'poincare') IS NOT NULL AS ran;
SELECT regexp_replace(key, '/(avx512|avx2|neon|generic)$', '/<isa>') AS key, mechanism, dims, compiled,
       object_bytes > 0 AS has_code, compile_ms > 0 AS timed
  FROM ruvector_jit_cache() ORDER BY key;
-- bounded in bytes: each kernel is charged its code plus 16 kB
SET ruvector_jit.cache_size = '64kB';
SELECT ruvector_attention_score('[1,2]'::ruvector, '[4,5]'::ruvector, 'cosine') IS NOT NULL,
       ruvector_hyperbolic_distance('[0.1]', '[0.2]') IS NOT NULL,
       ruvector_attention_score('[1,2,3,4]'::ruvector, '[4,5,6,7]'::ruvector) IS NOT NULL,
       ruvector_attention_score('[1,2,3,4,5]'::ruvector, '[4,5,6,7,8]'::ruvector) IS NOT NULL;
SELECT count(*) BETWEEN 1 AND 3 AS some_dropped, sum(object_bytes + 16384) <= 65536 AS within_budget,
       bool_and(compiled) FROM ruvector_jit_cache();
RESET ruvector_jit.cache_size;
SET ruvector_jit.cache_size = 0;
-- memory the server pays for: only superusers set it
CREATE ROLE rvj_plain_user;
SET ROLE rvj_plain_user;
SET ruvector_jit.cache_size = '1GB';
SET ruvector_jit.max_threads = 64;
RESET ROLE;
DROP ROLE rvj_plain_user;
-- Dropping kernels in the middle of a statement: call sites notice and rebind.
CREATE TEMP TABLE pts AS SELECT i, ARRAY[i, i % 7, 1]::real[]::ruvector AS v FROM generate_series(1, 500) i;
SELECT count(*), count(r) AS resets, bool_and(s = ruvector_attention_score('[1,0,2]'::ruvector, v)) AS consistent
FROM (SELECT v, ruvector_attention_score('[1,0,2]'::ruvector, v) AS s,
             CASE WHEN i % 100 = 0 THEN ruvector_jit_cache_reset() END AS r
      FROM pts) t;

-- The disk cache: a new backend loads the kernel an earlier backend compiled.
-- cache_dir is a server setting (the cache holds code every backend runs):
-- set with ALTER SYSTEM and a reload, never per session.
SET ruvector_jit.cache_dir = '/tmp';
SELECT '/tmp/rvj_regress_cache_' || pg_backend_pid() || '_' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS dir \gset
ALTER SYSTEM SET ruvector_jit.cache_dir = :'dir';
SELECT pg_reload_conf(), pg_sleep(0.5);
\c
SELECT regexp_replace(line, '\(hits \d+\)', '') AS first_backend
  FROM ruvector_jit_explain('cosine', 99) AS line WHERE line LIKE '  Source%';
\c
SELECT regexp_replace(regexp_replace(line, '[0-9.]+ ms', 'N ms'), '[0-9]+ bytes', 'N bytes') AS new_backend
  FROM ruvector_jit_explain('cosine', 99) AS line WHERE line LIKE '  Source%' OR line LIKE '  Compile time%';
-- An untrusted directory (/tmp: root's, and world-writable): one WARNING
-- per backend, then no persistence.
ALTER SYSTEM SET ruvector_jit.cache_dir = '/tmp';
SELECT pg_reload_conf(), pg_sleep(0.5);
\c
SELECT ruvector_attention_score('[0.1,0.2,0.3,0.4,0.5]'::ruvector, '[0.1,0.2,0.3,0.4,0.5]'::ruvector, 'poincare') AS first;
SELECT ruvector_attention_score('[0.1,0.2,0.3,0.4,0.5,0.6]'::ruvector, '[0.1,0.2,0.3,0.4,0.5,0.6]'::ruvector, 'poincare') AS second_no_warning;
SELECT line FROM ruvector_jit_explain('scaled_dot', 6) AS line WHERE line LIKE '  Disk cache%';
ALTER SYSTEM SET ruvector_jit.cache_dir = '';
SELECT pg_reload_conf(), pg_sleep(0.5);

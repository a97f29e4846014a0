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
-- the IR, verbatim
SELECT line FROM ruvector_jit_explain('scaled_dot', 4) AS line WHERE line LIKE '    kernel%' OR line LIKE '      %';
-- assembly for the host: a return and vector FMAs or multiplies
SELECT count(*) > 0 AS has_assembly FROM ruvector_jit_explain('scaled_dot', 384) AS line
  WHERE line ~ '\m(ret|vfmadd|fmla|mulps)';
-- the kernel behind ruvector_hyperbolic_distance is inspectable too
SELECT line FROM ruvector_jit_explain('poincare_distance', 3) AS line WHERE line LIKE 'Kernel%';
-- bad input
SELECT * FROM ruvector_jit_explain('nope', 8);
SELECT * FROM ruvector_jit_explain('scaled_dot', 0);
SELECT * FROM ruvector_jit_explain('scaled_dot', 16001);

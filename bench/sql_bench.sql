-- SQL-level benchmark: top-10 over 100k rows x 384 dims, sequential scan,
-- one process (no parallel workers), PostgreSQL's own JIT off.
-- Run by scripts/bench (psql -tA): prints "case|median ms" rows, median of 7
-- runs after one warm-up run.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET jit = off;
SET max_parallel_workers_per_gather = 0;

\ir bench_docs.sql

CREATE OR REPLACE FUNCTION pg_temp.median_ms(query text, runs int DEFAULT 7) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz;
  times float8[] := '{}';
BEGIN
  EXECUTE query;  -- warm-up: buffers, kernel compile
  FOR i IN 1..runs LOOP
    t0 := clock_timestamp();
    EXECUTE query;
    times := times || extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
  RETURN round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) x)::numeric, 1);
END $$;

CREATE TEMP TABLE q AS SELECT embedding AS v FROM bench_docs WHERE id = 4242;

SELECT '`ORDER BY ruvector_attention_score(q, embedding) DESC LIMIT 10`',
       pg_temp.median_ms($q$SELECT id FROM bench_docs, q ORDER BY ruvector_attention_score(q.v, embedding) DESC LIMIT 10$q$);
SELECT '`ORDER BY embedding <#> q LIMIT 10`',
       pg_temp.median_ms($q$SELECT id FROM bench_docs, q ORDER BY embedding <#> q.v LIMIT 10$q$);
SELECT '`SELECT count(ruvector_dims(embedding))`: the scan and per-row call floor',
       pg_temp.median_ms($q$SELECT count(ruvector_dims(embedding)) FROM bench_docs$q$);
SELECT '`SELECT ruvector_attend(q, embedding, embedding)`: attention over all rows',
       pg_temp.median_ms($q$SELECT ruvector_attend(q.v, embedding, embedding) FROM bench_docs, q$q$);
SET ruvector_jit.enabled = off;
SELECT '`ORDER BY ruvector_attention_score(...) LIMIT 10` with `ruvector_jit.enabled = off` (interpreter)',
       pg_temp.median_ms($q$SELECT id FROM bench_docs, q ORDER BY ruvector_attention_score(q.v, embedding) DESC LIMIT 10$q$);
RESET ruvector_jit.enabled;

SELECT 'same top 10 from the score and from <#>',
       (SELECT array_agg(id) FROM (SELECT id FROM bench_docs, q ORDER BY ruvector_attention_score(q.v, embedding) DESC LIMIT 10) a)
     = (SELECT array_agg(id) FROM (SELECT id FROM bench_docs, q ORDER BY embedding <#> q.v LIMIT 10) b);

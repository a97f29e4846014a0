-- Cancel latency per path (scripts/bench-hardening): the inputs here; the
-- script appends each path's statement 21 times, each marked "@@ path", and
-- runs them under statement_timeout = 200 ms with psql's \timing: the time
-- to the cancel error minus 200 ms is the latency.
\set ON_ERROR_STOP 0
\set VERBOSITY terse
SET client_min_messages = warning;
SET jit = off;
SET work_mem = '1GB';
-- 16384 x 128 rows (the sequence inputs), 4096 x 64, and learned weights.
CREATE TEMP TABLE rows128 AS
  SELECT array_agg(x) AS x FROM (
    SELECT (SELECT array_agg(sin(i * j + j) * 0.1)::real[]::ruvector FROM generate_series(1, 128) j) AS x
    FROM generate_series(1, 16384) i) r;
CREATE TEMP TABLE rows64 AS
  SELECT array_agg(x) AS x, (array_agg(x))[1:1] AS q1, (array_agg(x))[1:64] AS w FROM (
    SELECT (SELECT array_agg(cos(i * j + 3 * j) * 0.1)::real[]::ruvector FROM generate_series(1, 64) j) AS x
    FROM generate_series(1, 4096) i) r;
SET statement_timeout = '200ms';
\timing on

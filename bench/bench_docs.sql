-- The SQL benchmarks' table: 100k rows x 384 dims, uniform in [-0.5, 0.5),
-- from a fixed seed; built once per database.
CREATE TABLE IF NOT EXISTS bench_docs (id int PRIMARY KEY, embedding ruvector(384));
DO $$
BEGIN
  IF (SELECT count(*) FROM bench_docs) <> 100000 THEN
    TRUNCATE bench_docs;
    PERFORM setseed(0.42);
    INSERT INTO bench_docs
      SELECT i, (SELECT array_agg(random() - 0.5) FROM generate_series(1, 384) WHERE i > 0)::real[]::ruvector
      FROM generate_series(1, 100000) i;
  END IF;
END $$;
VACUUM ANALYZE bench_docs;

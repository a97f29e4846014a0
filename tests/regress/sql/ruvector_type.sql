-- The ruvector type: text I/O, typmod, binary I/O, and pgvector's bad-input checklist.
SELECT '[1,2,3]'::ruvector;
SELECT ' [ 1.5 , -2e-3,3 ] '::ruvector;
SELECT '[0.1]'::ruvector(1);
SELECT ruvector_dims('[1,2,3,4]');
SELECT format_type('ruvector'::regtype, 3);

-- malformed text (22P02)
\set VERBOSITY default
SELECT '1,2,3'::ruvector;
SELECT '[1,2'::ruvector;
SELECT '[1,2]x'::ruvector;
SELECT '[1,,2]'::ruvector;
SELECT '[1 2]'::ruvector;
SELECT ''::ruvector;
-- values
SELECT '[]'::ruvector;
SELECT '[1,NaN]'::ruvector;
SELECT '[1,Infinity]'::ruvector;
SELECT '[1,-inf]'::ruvector;
SELECT '[4e38]'::ruvector;
SELECT '[-4e38]'::ruvector;
SELECT ('[' || array_to_string(array_fill(1, ARRAY[16001]), ',') || ']')::ruvector;
SELECT ruvector_dims(('[' || array_to_string(array_fill(1, ARRAY[16000]), ',') || ']')::ruvector);

-- typmod: enforced on input, assignment and casts
SELECT '[1,2,3,4]'::ruvector(3);
CREATE TABLE rv_typmod (v ruvector(3));
INSERT INTO rv_typmod VALUES ('[1,2,3]');
INSERT INTO rv_typmod VALUES ('[1,2,3,4]');
INSERT INTO rv_typmod SELECT '[1,2]'::ruvector;
UPDATE rv_typmod SET v = '[1,2,3,4]'::ruvector;
SELECT '[1,2]'::ruvector::ruvector(3);
SELECT '[1]'::ruvector(0);
SELECT '[1]'::ruvector(16001);
SELECT '[1]'::ruvector(2, 3);
\d rv_typmod

-- binary send/recv: int16 dim, int16 unused, float4 values, network order
SELECT ruvector_send('[1,2]');
COPY rv_typmod TO '/tmp/ruvector_regress.bin' WITH (FORMAT binary);
CREATE TABLE rv_any (v ruvector);
COPY rv_any FROM '/tmp/ruvector_regress.bin' WITH (FORMAT binary);
SELECT * FROM rv_any;
CREATE TABLE rv_two (v ruvector(2));
COPY rv_two FROM '/tmp/ruvector_regress.bin' WITH (FORMAT binary);
-- hand-made binary values: unused = 1, then dim = 0, then a NaN
COPY rv_any FROM PROGRAM 'printf "PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\010\000\001\000\001\077\200\000\000\377\377"' WITH (FORMAT binary);
COPY rv_any FROM PROGRAM 'printf "PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\004\000\000\000\000\377\377"' WITH (FORMAT binary);
COPY rv_any FROM PROGRAM 'printf "PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\010\000\001\000\000\177\300\000\000\377\377"' WITH (FORMAT binary);
-- +Infinity, dim 16001, dim -1, and a value cut short
COPY rv_any FROM PROGRAM 'printf "PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\010\000\001\000\000\177\200\000\000\377\377"' WITH (FORMAT binary);
COPY rv_any FROM PROGRAM 'printf "PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\010\076\201\000\000\077\200\000\000\377\377"' WITH (FORMAT binary);
COPY rv_any FROM PROGRAM 'printf "PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\010\377\377\000\000\077\200\000\000\377\377"' WITH (FORMAT binary);
COPY rv_any FROM PROGRAM 'printf "PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000\000\001\000\000\000\010\000\002\000\000\077\200\000\000\377\377"' WITH (FORMAT binary);
SELECT count(*) FROM rv_any;

DROP TABLE rv_typmod, rv_any, rv_two;

-- SQLSTATEs of the bad-input checklist
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $$;
SELECT q, pg_temp.sqlstate(q) FROM (VALUES
  ($q$SELECT '[1,2'::ruvector$q$),
  ($q$SELECT '[1,NaN]'::ruvector$q$),
  ($q$SELECT '[1,Infinity]'::ruvector$q$),
  ($q$SELECT '[4e38]'::ruvector$q$),
  ($q$SELECT '[]'::ruvector$q$),
  ($q$SELECT array_fill(1, ARRAY[16001])::ruvector$q$),
  ($q$SELECT '[1,2,3,4]'::ruvector(3)$q$),
  ($q$SELECT '[1]'::ruvector(2, 3)$q$),
  ($q$SELECT '[1,2]'::ruvector <-> '[1]'$q$),
  ($q$SELECT ARRAY[1,NULL]::ruvector$q$),
  ($q$SELECT ARRAY[[1],[2]]::ruvector$q$)) v(q);

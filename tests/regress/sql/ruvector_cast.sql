-- Casts between ruvector and arrays.
SELECT ARRAY[1,2,3]::ruvector;
SELECT ARRAY[1.5,2.25]::real[]::ruvector;
SELECT ARRAY[0.1,0.2]::double precision[]::ruvector;
SELECT ARRAY[1.25,2.5]::numeric[]::ruvector;
SELECT '[1,2,3]'::ruvector::real[];
SELECT ARRAY[1,2,3]::ruvector(3);
SELECT ARRAY[1,2,3]::ruvector(2);
-- assignment casts
CREATE TABLE rv_cast (v ruvector(2));
INSERT INTO rv_cast VALUES (ARRAY[1,2]::real[]);
INSERT INTO rv_cast VALUES (ARRAY[1,2,3]::real[]);
SELECT * FROM rv_cast;
DROP TABLE rv_cast;
-- rejected arrays
SELECT ARRAY[1,NULL,3]::ruvector;
SELECT ARRAY[1,NULL,3]::real[]::ruvector;
SELECT ARRAY[1,NULL,3]::double precision[]::ruvector;
SELECT ARRAY[1,NULL,3]::numeric[]::ruvector;
SELECT ARRAY[[1,2],[3,4]]::ruvector;
SELECT ARRAY[[1,2],[3,4]]::real[]::ruvector;
SELECT ARRAY[[1,2],[3,4]]::double precision[]::ruvector;
SELECT ARRAY[[1,2],[3,4]]::numeric[]::ruvector;
SELECT '{}'::integer[]::ruvector;
SELECT ARRAY['NaN']::numeric[]::ruvector;
SELECT '{}'::real[]::ruvector;
SELECT ARRAY['NaN']::real[]::ruvector;
SELECT ARRAY['Infinity']::double precision[]::ruvector;
SELECT ARRAY[1e300]::double precision[]::ruvector;
SELECT ARRAY[1e39]::numeric[]::ruvector;
SELECT array_fill(1, ARRAY[16001])::ruvector;

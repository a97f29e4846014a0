-- ruvector_hyperbolic_distance: geoopt's PoincareBall(c).dist, curvature -c.
-- Reference (geoopt 0.5.1, float64): 1.3851240274, c=0.5: 1.3209298501,
-- 3-d with c=2: 1.7631119219, (0.999) to (-0.999): 15.2008304313.
SELECT round(ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]')::float8::numeric, 5);
SELECT round(ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]', 0.5)::float8::numeric, 5);
SELECT round(ruvector_hyperbolic_distance('[0.1,0.2,0.3]', '[0.3,-0.4,0.1]', curvature => 2)::float8::numeric, 5);
SELECT round(ruvector_hyperbolic_distance('[0.999]', '[-0.999]')::float8::numeric, 4);
SELECT ruvector_hyperbolic_distance('[0.5]', '[0.5]') AS zero;
-- symmetric
SELECT ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]') = ruvector_hyperbolic_distance('[0.3,-0.4]', '[0.1,0.2]') AS symmetric;
-- the same bits from the interpreter
CREATE TEMP TABLE hd AS
  SELECT i, ARRAY[sin(i) * 0.5, cos(i) * 0.5, sin(i * 3) * 0.3]::real[]::ruvector AS p FROM generate_series(1, 200) i;
CREATE TEMP TABLE hd_jit AS SELECT a.i AS ai, b.i AS bi, ruvector_hyperbolic_distance(a.p, b.p, 1.5) AS d FROM hd a, hd b;
SET ruvector_jit.enabled = off;
SELECT bool_and(j.d = ruvector_hyperbolic_distance(a.p, b.p, 1.5)) AS identical, count(*)
FROM hd_jit j JOIN hd a ON a.i = j.ai JOIN hd b ON b.i = j.bi;
RESET ruvector_jit.enabled;
-- bad input
SELECT ruvector_hyperbolic_distance('[0.8,0.8]', '[0.1,0.2]');
SELECT ruvector_hyperbolic_distance('[0.1,0.2]', '[1,0]');
SELECT ruvector_hyperbolic_distance('[0.5,0.5]', '[0.1,0.2]', 2);
SELECT ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]', 0);
SELECT ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]', -1);
SELECT ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]', 'NaN');
SELECT ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]', 'Infinity');
SELECT ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3]');

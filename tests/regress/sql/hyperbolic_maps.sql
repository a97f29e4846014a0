-- The Poincare ball's maps: geoopt's PoincareBall(c) (curvature -c) with
-- project=False. Reference (geoopt 0.5.1, float64):
-- expmap0([0.1,0.2,0.3]) = [0.09558065, 0.19116131, 0.28674197], c=0.5: [0.0977302, 0.1954604, 0.2931906];
-- logmap0([0.1,0.2,0.3]) = [0.10510269, 0.21020538, 0.31530808], c=2: [0.11130378, 0.22260755, 0.33391134];
-- mobius_add([0.1,0.2], [0.3,-0.4]) = [0.43835618, -0.16438356], c=0.5: [0.41967214, -0.18360656];
-- expmap0([3,4]) = [0.59994552, 0.79992736].
SELECT ruvector_poincare_expmap0('[0.1,0.2,0.3]');
SELECT ruvector_poincare_expmap0('[0.1,0.2,0.3]', 0.5);
SELECT ruvector_poincare_expmap0('[3,4]');
SELECT ruvector_poincare_logmap0('[0.1,0.2,0.3]');
SELECT ruvector_poincare_logmap0('[0.1,0.2,0.3]', curvature => 2);
SELECT ruvector_poincare_mobius_add('[0.1,0.2]', '[0.3,-0.4]');
SELECT ruvector_poincare_mobius_add('[0.1,0.2]', '[0.3,-0.4]', 0.5);
-- zero vectors: exactly zero; 0 is the identity of mobius_add
SELECT ruvector_poincare_expmap0('[0,0,0]') AS expmap0, ruvector_poincare_logmap0('[0,0,0]') AS logmap0;
SELECT ruvector_poincare_mobius_add('[0.1,0.2]', '[0,0]') AS x_plus_0, ruvector_poincare_mobius_add('[0,0]', '[0.1,0.2]') AS zero_plus_x;
-- the distance is (2/sqrt c) artanh(sqrt c |(-x) (+) y|)
SELECT round((2 * atanh(ruvector_norm(ruvector_poincare_mobius_add('[-0.1,-0.2]', '[0.3,-0.4]'))))::numeric, 5) AS via_mobius_add,
       round(ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]')::float8::numeric, 5) AS distance;
-- logmap0 undoes expmap0, to float32 rounding
CREATE TEMP TABLE hm AS
  SELECT i, ARRAY[sin(i) * 0.5, cos(i) * 0.5, sin(i * 3) * 0.3]::real[]::ruvector AS p FROM generate_series(1, 200) i;
SELECT bool_and(abs(x - y) < 1e-6) AS round_trip, count(*)
FROM hm, unnest(ruvector_poincare_logmap0(ruvector_poincare_expmap0(p, 1.5), 1.5)::real[], p::real[]) AS t(x, y);
-- the same results from the interpreter
CREATE TEMP TABLE hm_jit AS
  SELECT a.i AS ai, b.i AS bi, ruvector_poincare_mobius_add(a.p, b.p, 1.5) AS s FROM hm a, hm b;
CREATE TEMP TABLE hm_jit1 AS
  SELECT i, ruvector_poincare_expmap0(p, 1.5) AS e, ruvector_poincare_logmap0(p, 1.5) AS l FROM hm;
SET ruvector_jit.enabled = off;
SELECT bool_and(j.s = ruvector_poincare_mobius_add(a.p, b.p, 1.5)) AS identical, count(*)
FROM hm_jit j JOIN hm a ON a.i = j.ai JOIN hm b ON b.i = j.bi;
SELECT bool_and(e = ruvector_poincare_expmap0(p, 1.5) AND l = ruvector_poincare_logmap0(p, 1.5)) AS identical, count(*)
FROM hm_jit1 JOIN hm USING (i);
RESET ruvector_jit.enabled;
-- explain shows the elementwise loop after the reductions
SELECT count(*) AS schedule_rows FROM ruvector_jit_explain('poincare_mobius_add', 8) AS l
WHERE l LIKE '%then 1 vector output(s) elementwise over 8 elements%';
-- bad input: points on or outside the ball (no projection: expmap0 of a long
-- vector rounds onto the boundary in float32), curvature, dimensions
SELECT ruvector_poincare_logmap0('[0.8,0.8]');
SELECT ruvector_poincare_logmap0('[1,0]');
SELECT ruvector_poincare_logmap0('[0.5,0.5]', 2);
SELECT ruvector_poincare_logmap0(ruvector_poincare_expmap0('[30,40]'));
SELECT ruvector_poincare_mobius_add('[0.8,0.8]', '[0.1,0.2]');
SELECT ruvector_poincare_mobius_add('[0.1,0.2]', '[1,0]');
SELECT ruvector_poincare_expmap0('[0.1,0.2]', 0);
SELECT ruvector_poincare_logmap0('[0.1,0.2]', -1);
SELECT ruvector_poincare_mobius_add('[0.1,0.2]', '[0.3,-0.4]', 'NaN');
SELECT ruvector_poincare_expmap0('[0.1,0.2]', 'Infinity');
SELECT ruvector_poincare_mobius_add('[0.1,0.2]', '[0.3]');

-- the weighted gyromidpoint (geoopt's weighted_midpoint), and hyperbolic
-- attention that aggregates values by it
SELECT ruvector_poincare_midpoint(ARRAY['[0.3,-0.4]', '[-0.3,0.4]']::ruvector[]) AS opposite;
SELECT ruvector_poincare_midpoint(ARRAY['[0.1,0.2]']::ruvector[]) AS one_point;
SELECT ruvector_poincare_midpoint(ARRAY['[0.1,0.2]', '[0.3,-0.1]', '[-0.2,0.05]']::ruvector[], ARRAY[1, 2, 0.5]::real[], 0.5) AS weighted;
SELECT ruvector_attention(ARRAY['[0.1,0.2]', '[0.2,-0.1]']::ruvector[], ARRAY['[0.1,0.1]', '[-0.2,0.3]']::ruvector[],
                          ARRAY['[0.3,0.1]', '[-0.1,0.2]']::ruvector[], 'poincare', '{"midpoint": true, "beta": 2}') AS hyperbolic_attention;
-- one key: the midpoint of its value is the value
SELECT ruvector_attention(ARRAY['[0.1,0.2]']::ruvector[], ARRAY['[0.1,0.1]']::ruvector[], ARRAY['[0.3,0.1]']::ruvector[],
                          'poincare', '{"midpoint": true}') AS one_value;
SELECT ruvector_poincare_midpoint(ARRAY['[0.1,0.2]', '[0.9,0.9]']::ruvector[]);
SELECT ruvector_poincare_midpoint(ARRAY['[0.1,0.2]']::ruvector[], ARRAY[0]::real[]);
SELECT ruvector_poincare_midpoint(ARRAY['[0.1,0.2]']::ruvector[], ARRAY[-1]::real[]);
SELECT ruvector_poincare_midpoint(ARRAY['[0.1,0.2]']::ruvector[], ARRAY[1, 2]::real[]);
SELECT ruvector_poincare_midpoint(ARRAY[]::ruvector[]);
SELECT ruvector_poincare_midpoint(ARRAY['[0.1,0.2]']::ruvector[], 0);
SELECT ruvector_attention(ARRAY['[0.1,0.2]']::ruvector[], ARRAY['[0.1,0.1]']::ruvector[], ARRAY['[3,1]']::ruvector[],
                          'poincare', '{"midpoint": true}');

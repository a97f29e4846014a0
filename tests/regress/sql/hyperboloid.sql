-- The hyperboloid beside the ball: ruvector_lorentz_distance and the maps
-- between the models, with curvature -c (the hyperboloid <x,x>_L = -1/c is
-- geoopt's Lorentz(k = 1/c)). Exact against geoopt (tests/fixtures/
-- hyperboloid.sql, scripts/gen_catalogue_fixtures.py).
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/hyperboloid.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

-- geoopt's Lorentz(k = 1/c).dist on the fixture's points
SELECT count(*) AS cases,
       max(abs(ruvector_lorentz_distance(x, y, c) - lorentz_dist) / lorentz_dist) < 1e-5 AS lorentz_matches_geoopt
FROM hb_cases;
-- the map to the hyperboloid agrees with the formula, and back gives the point
SELECT bool_and(abs(u - v) <= 1e-6 * greatest(1, abs(v))) AS to_lorentz_matches,
       count(DISTINCT id) AS cases
FROM hb_cases, unnest(ruvector_poincare_to_lorentz(p, c)::real[], x::real[]) AS t(u, v);
SELECT bool_and(abs(u - v) <= 1e-6) AS to_poincare_matches
FROM hb_cases, unnest(ruvector_lorentz_to_poincare(x, c)::real[], p::real[]) AS t(u, v);
-- an isometry: the ball's distance (geoopt PoincareBall(c)) is kept
SELECT max(abs(ruvector_lorentz_distance(ruvector_poincare_to_lorentz(p, c), ruvector_poincare_to_lorentz(q, c), c)
               - ball_dist) / ball_dist) < 1e-5 AS distance_kept,
       max(abs(ruvector_hyperbolic_distance(p, q, c) - ball_dist) / ball_dist) < 1e-5 AS ball_matches_geoopt
FROM hb_cases;
-- the lorentz attention type's k is 1/c: its score is minus this distance
SELECT max(abs(ruvector_attention_score(x, y, 'lorentz', jsonb_build_object('k', 1 / c::float8))
               + ruvector_lorentz_distance(x, y, c))) < 1e-5 AS score_is_minus_distance
FROM hb_cases;
-- small cases by hand: the origin of the ball is (1/sqrt c, 0, ...)
SELECT ruvector_poincare_to_lorentz('[0,0]') AS origin, ruvector_poincare_to_lorentz('[0,0]', 4) AS origin_c4;
SELECT ruvector_lorentz_to_poincare('[1,0,0]') AS back_to_origin;
SELECT ruvector_lorentz_distance('[1,0]', '[1.5430806,1.1752012]') AS distance_one;  -- cosh 1, sinh 1
SELECT ruvector_lorentz_distance('[1,0]', '[1,0]') AS same_point;
-- same results from the interpreter
CREATE TEMP TABLE hb_jit AS SELECT id, ruvector_lorentz_distance(x, y, c) AS d FROM hb_cases;
SET ruvector_jit.enabled = off;
SELECT bool_and(d = ruvector_lorentz_distance(x, y, c)) AS identical FROM hb_jit JOIN hb_cases USING (id);
RESET ruvector_jit.enabled;
-- bad input: off the hyperboloid, the lower sheet, curvature, dimensions
SELECT ruvector_lorentz_distance('[1,0]', '[1,1]');
SELECT ruvector_lorentz_distance('[-1,0]', '[-1,0]');
SELECT ruvector_lorentz_distance('[1,0]', '[1,0,0]');
SELECT ruvector_lorentz_distance('[1,0]', '[1,0]', 0);
SELECT ruvector_lorentz_distance('[1,0]', '[1,0]', 4);
SELECT ruvector_lorentz_to_poincare('[2,0]');
SELECT ruvector_lorentz_to_poincare('[-1,0]');
SELECT ruvector_lorentz_to_poincare('[1]');
SELECT ruvector_poincare_to_lorentz('[0.8,0.8]');
SELECT ruvector_poincare_to_lorentz('[0.1,0.2]', 'NaN');
SELECT ruvector_poincare_to_lorentz('[0.999999,0]');

-- the product space E x H x S (mixed curvature): -beta d - gamma, with d
-- against numpy and geoopt (tests/fixtures/mixed_curvature.sql)
\set fixture :abs_srcdir '/../fixtures/mixed_curvature.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all
SELECT count(*) AS cases,
       max(abs(-ruvector_mixed_curvature_score(x, y, e, h, ch, cs) - dist) / dist) < 1e-5 AS distance_matches,
       bool_and(abs(ruvector_mixed_curvature_score(x, y, e, h, ch, cs, beta => 2, gamma => 0.5)
                    - (-2 * dist - 0.5)) <= 1e-5 * (2 * dist + 0.5)) AS beta_gamma
FROM mc_cases;
-- each slice alone is its space's distance
SELECT ruvector_mixed_curvature_score('[0,0,3,4]', '[0,0,0,0]', 4, 0) AS euclidean_only,   -- -5
       round(-ruvector_mixed_curvature_score('[0.1,0.2]', '[0.3,-0.4]', 0, 2)::numeric, 4) =
       round(ruvector_hyperbolic_distance('[0.1,0.2]', '[0.3,-0.4]')::numeric, 4) AS ball_only,
       round(ruvector_mixed_curvature_score('[1,0]', '[0,1]', 0, 0)::numeric, 6) AS quarter_circle;  -- -pi/2
SELECT ruvector_mixed_curvature_score('[1,0.5,1]', '[1,0.5,1]', 1, 1) AS same_point;
SELECT name, per_row, sql_forms FROM ruvector_attention_types() WHERE name = 'mixed_curvature';
-- bad input
SELECT ruvector_mixed_curvature_score('[1,2,3]', '[1,2,3]', 2, 2);
SELECT ruvector_mixed_curvature_score('[1,2,3]', '[1,2,3]', -1, 2);
SELECT ruvector_mixed_curvature_score('[1,0.5,0,0]', '[1,0.5,1,0]', 1, 1);
SELECT ruvector_mixed_curvature_score('[1,0.5,0,0]', '[1,0.5,1,0]', 1, 1, hyperbolic_curvature => 5);
SELECT ruvector_mixed_curvature_score('[1,0.5,1]', '[1,0.5,1]', 1, 1, spherical_curvature => 0);
SELECT ruvector_mixed_curvature_score('[1,0.5,1]', '[1,0.5]', 1, 1);
SELECT ruvector_mixed_curvature_score('[1,0.5,1]', '[1,0.5,1]', 1, 1, beta => 'NaN');

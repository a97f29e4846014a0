-- ruvector_jit 0.3.0 -> 0.4.0
\echo Use "ALTER EXTENSION ruvector_jit UPDATE TO '0.4.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- The hyperboloid beside the ball (0.4.0). Curvature -c everywhere, c > 0:
-- the hyperboloid is <x,x>_L = -1/c, x0 > 0 (geoopt's Lorentz(k) with
-- k = 1/c), and the maps between the models are isometries.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_lorentz_distance(a ruvector, b ruvector, curvature real DEFAULT 1.0)
  RETURNS real
  AS 'MODULE_PATHNAME', 'ruvector_lorentz_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_poincare_to_lorentz(p ruvector, curvature real DEFAULT 1.0)
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_poincare_to_lorentz' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_lorentz_to_poincare(x ruvector, curvature real DEFAULT 1.0)
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_lorentz_to_poincare' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

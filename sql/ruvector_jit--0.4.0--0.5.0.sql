-- ruvector_jit 0.4.0 -> 0.5.0
\echo Use "ALTER EXTENSION ruvector_jit UPDATE TO '0.5.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- The ruvector_attention index (0.5.0): an HNSW graph in index pages, WAL-
-- logged, serving ORDER BY col <op> q LIMIT k. One operator class per
-- similarity; inner product is the default.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_poincare_distance(a ruvector, b ruvector) RETURNS real
  AS 'MODULE_PATHNAME', 'ruvector_poincare_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_poincare_distance(ruvector, ruvector) IS
  'The Poincare-ball distance at curvature -1 (ruvector_hyperbolic_distance(a, b, 1)); the <~> operator.';
CREATE OPERATOR <~> (LEFTARG = ruvector, RIGHTARG = ruvector,
  FUNCTION = ruvector_poincare_distance, COMMUTATOR = '<~>');
CREATE FUNCTION ruvector_poincare_rescale(v ruvector, curvature real) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_poincare_rescale' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_poincare_rescale(ruvector, real) IS
  'sqrt(c) * v: carries a point of the ball of curvature -c to the unit ball, where <~> ranks as d_c does.';

CREATE FUNCTION ruvector_attention_handler(internal) RETURNS index_am_handler
  AS 'MODULE_PATHNAME', 'ruvector_attention_handler' LANGUAGE C;
CREATE ACCESS METHOD ruvector_attention TYPE INDEX HANDLER ruvector_attention_handler;
COMMENT ON ACCESS METHOD ruvector_attention IS
  'HNSW graph index for ORDER BY embedding <#>, <=>, <-> or <~> q LIMIT k';

CREATE OPERATOR CLASS ruvector_ip_ops DEFAULT FOR TYPE ruvector USING ruvector_attention AS
  OPERATOR 1 <#> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 ruvector_negative_inner_product(ruvector, ruvector);
CREATE OPERATOR CLASS ruvector_cosine_ops FOR TYPE ruvector USING ruvector_attention AS
  OPERATOR 1 <=> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 ruvector_cosine_distance(ruvector, ruvector);
CREATE OPERATOR CLASS ruvector_l2_ops FOR TYPE ruvector USING ruvector_attention AS
  OPERATOR 1 <-> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 ruvector_l2_distance(ruvector, ruvector);
CREATE OPERATOR CLASS ruvector_poincare_ops FOR TYPE ruvector USING ruvector_attention AS
  OPERATOR 1 <~> (ruvector, ruvector) FOR ORDER BY float_ops,
  FUNCTION 1 ruvector_poincare_distance(ruvector, ruvector);

CREATE FUNCTION ruvector_index_check(index regclass, OUT live_nodes bigint, OUT marked_nodes bigint,
                                     OUT cleared_nodes bigint, OUT top_level integer,
                                     OUT reachable_nodes bigint, OUT heap_tuples bigint)
  RETURNS record
  AS 'MODULE_PATHNAME', 'ruvector_index_check' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION ruvector_index_check(regclass) IS
  'Verifies a ruvector_attention index (lists, reachability, every visible row indexed); index_corrupted at the first fault. Needs the table''s ownership.';
CREATE FUNCTION ruvector_index_info(index regclass) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'ruvector_index_info' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_index_info(regclass) IS
  'A ruvector_attention index''s similarity, options, pages and the engine kernel its distances run.';

-- ruvector_jit 0.2.0 -> 0.3.0
\echo Use "ALTER EXTENSION ruvector_jit UPDATE TO '0.3.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Attention over tables (0.3.0). Both functions read tables through SPI with
-- the caller's rights (SECURITY INVOKER: privileges and row-level security
-- hold), so they are STABLE and PARALLEL RESTRICTED; the scans they run may
-- use parallel workers.
-- ---------------------------------------------------------------------------
-- COST: a row's H logits (a dot product over the vector) cost about what 50
-- simple operators do; with the default of 1 the planner would never give
-- the scan parallel workers.
CREATE FUNCTION ruvector_mha_scan_transition(internal, bigint, ruvector, ruvector, integer, integer)
  RETURNS internal AS 'MODULE_PATHNAME', 'ruvector_mha_scan_transition' LANGUAGE C STABLE PARALLEL SAFE COST 50;
CREATE FUNCTION ruvector_mha_scan_transition(internal, bigint, ruvector, ruvector, integer, integer, float8[])
  RETURNS internal AS 'MODULE_PATHNAME', 'ruvector_mha_scan_transition' LANGUAGE C STABLE PARALLEL SAFE COST 50;
CREATE FUNCTION ruvector_mha_scan_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_mha_scan_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_mha_scan_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_mha_scan_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_mha_scan_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_mha_scan_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_mha_scan_final(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_mha_scan_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_mha_scan(id bigint, embedding ruvector, query ruvector, num_heads integer, k integer) (
  SFUNC = ruvector_mha_scan_transition, STYPE = internal, FINALFUNC = ruvector_mha_scan_final,
  COMBINEFUNC = ruvector_mha_scan_combine, SERIALFUNC = ruvector_mha_scan_serialize,
  DESERIALFUNC = ruvector_mha_scan_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE ruvector_mha_scan(id bigint, embedding ruvector, query ruvector, num_heads integer, k integer,
                                   normalisers float8[]) (
  SFUNC = ruvector_mha_scan_transition, STYPE = internal, FINALFUNC = ruvector_mha_scan_final,
  COMBINEFUNC = ruvector_mha_scan_combine, SERIALFUNC = ruvector_mha_scan_serialize,
  DESERIALFUNC = ruvector_mha_scan_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE ruvector_mha_scan(bigint, ruvector, ruvector, integer, integer) IS
  'internal: the scan of ruvector_mha_search (per-head normalisers and the k best, as bytea)';
COMMENT ON AGGREGATE ruvector_mha_scan(bigint, ruvector, ruvector, integer, integer, float8[]) IS
  'internal: the second scan of ruvector_mha_search when the rows outgrow work_mem';

CREATE FUNCTION ruvector_mha_search(table_name regclass, query ruvector, num_heads integer DEFAULT 8,
                                    k integer DEFAULT 10, column_name text DEFAULT NULL,
                                    id_column text DEFAULT NULL, params jsonb DEFAULT '{}',
                                    exact boolean DEFAULT true)
  RETURNS TABLE(id bigint, score real)
  AS 'MODULE_PATHNAME', 'ruvector_mha_search' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION ruvector_mha_search(regclass, ruvector, integer, integer, text, text, jsonb, boolean) IS
  'the k rows with the highest head-averaged attention weight of the query (exact)';

CREATE FUNCTION ruvector_cross_attention(query_table regclass, query_column text, document_table regclass,
                                         document_column text, attention_type text DEFAULT 'scaled_dot',
                                         k integer DEFAULT 10, query_id_column text DEFAULT NULL,
                                         document_id_column text DEFAULT NULL, params jsonb DEFAULT '{}',
                                         exact boolean DEFAULT true)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'ruvector_cross_attention' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000;
COMMENT ON FUNCTION ruvector_cross_attention(regclass, text, regclass, text, text, integer, text, text, jsonb,
                                             boolean) IS
  'for every query row, the k documents with the highest attention weight, and that weight (exact)';

-- ---------------------------------------------------------------------------
-- Linear attention over a table, as a state and queries (0.3.0). The
-- aggregate ruvector_linear_state(key, value [, attention_type [, params]])
-- folds every row into the per-head state of linear attention
-- (sum phi(k) v^T and sum phi(k)); ruvector_linear_attend(query, state)
-- answers one query against it, equal to ruvector_attention over the same
-- rows. Only linear and performer (without causal) have a table form.
-- ---------------------------------------------------------------------------
CREATE TYPE ruvector_linear_state;
CREATE FUNCTION ruvector_linear_state_in(cstring) RETURNS ruvector_linear_state
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_out(ruvector_linear_state) RETURNS cstring
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_recv(internal) RETURNS ruvector_linear_state
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_send(ruvector_linear_state) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ruvector_linear_state (
  INPUT = ruvector_linear_state_in, OUTPUT = ruvector_linear_state_out,
  RECEIVE = ruvector_linear_state_recv, SEND = ruvector_linear_state_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = external);
COMMENT ON TYPE ruvector_linear_state IS
  'the per-head state of linear attention over a set of (key, value) rows';

CREATE FUNCTION ruvector_linear_state_transition(internal, ruvector, ruvector) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_transition(internal, ruvector, ruvector, text) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_transition(internal, ruvector, ruvector, text, jsonb) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_linear_state_final(internal) RETURNS ruvector_linear_state
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_linear_state(key ruvector, value ruvector) (
  SFUNC = ruvector_linear_state_transition, STYPE = internal, FINALFUNC = ruvector_linear_state_final,
  COMBINEFUNC = ruvector_linear_state_combine, SERIALFUNC = ruvector_linear_state_serialize,
  DESERIALFUNC = ruvector_linear_state_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE ruvector_linear_state(key ruvector, value ruvector, attention_type text) (
  SFUNC = ruvector_linear_state_transition, STYPE = internal, FINALFUNC = ruvector_linear_state_final,
  COMBINEFUNC = ruvector_linear_state_combine, SERIALFUNC = ruvector_linear_state_serialize,
  DESERIALFUNC = ruvector_linear_state_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE ruvector_linear_state(key ruvector, value ruvector, attention_type text, params jsonb) (
  SFUNC = ruvector_linear_state_transition, STYPE = internal, FINALFUNC = ruvector_linear_state_final,
  COMBINEFUNC = ruvector_linear_state_combine, SERIALFUNC = ruvector_linear_state_serialize,
  DESERIALFUNC = ruvector_linear_state_deserialize, PARALLEL = SAFE);

CREATE FUNCTION ruvector_linear_attend(query ruvector, state ruvector_linear_state) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_linear_attend' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_linear_attend(ruvector, ruvector_linear_state) IS
  'linear attention of one query over the rows a state was built from';
CREATE FUNCTION ruvector_linear_state_merge(a ruvector_linear_state, b ruvector_linear_state)
  RETURNS ruvector_linear_state
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_merge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_linear_state_merge(ruvector_linear_state, ruvector_linear_state) IS
  'the state of the rows of both (same attention type, params and dimensions)';
CREATE FUNCTION ruvector_linear_state_info(state ruvector_linear_state) RETURNS jsonb
  AS 'MODULE_PATHNAME', 'ruvector_linear_state_info' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ruvector_linear_state_info(ruvector_linear_state) IS
  'a state''s attention type, params, dimensions, heads, features, rows and size';

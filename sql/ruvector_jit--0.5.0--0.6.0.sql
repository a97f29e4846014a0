-- ruvector_jit 0.5.0 -> 0.6.0
\echo Use "ALTER EXTENSION ruvector_jit UPDATE TO '0.6.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Tables sharded with postgres_fdw (0.6.0). PostgreSQL 15 pushes LIMIT and
-- aggregates down only for a query on a single foreign table, so these query
-- each partition on its own and merge the small results: k rows or one
-- state per partition cross the network, never a partition's rows.
-- ---------------------------------------------------------------------------
-- The k rows nearest the query, as ORDER BY column <op> query LIMIT k. Exact:
-- the aggregate ruvector_search_scan over each partition, which a shard runs
-- whole and answers with its k best (id, distance). exact := false: ORDER BY
-- <op> LIMIT k in each partition, which its ruvector_attention index serves.
CREATE FUNCTION ruvector_search_scan_transition(internal, bigint, float8, integer) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_search_scan_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_search_scan_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_search_scan_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_search_scan_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_search_scan_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_search_scan_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_search_scan_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_search_scan_final(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_search_scan_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_search_scan(id bigint, distance float8, k integer) (
  SFUNC = ruvector_search_scan_transition, STYPE = internal, FINALFUNC = ruvector_search_scan_final,
  COMBINEFUNC = ruvector_search_scan_combine, SERIALFUNC = ruvector_search_scan_serialize,
  DESERIALFUNC = ruvector_search_scan_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE ruvector_search_scan(bigint, float8, integer) IS
  'internal: one partition''s pass of ruvector_search (its k nearest (id, distance), as bytea)';
CREATE FUNCTION ruvector_search(table_name regclass, query ruvector, k integer DEFAULT 10,
                                metric text DEFAULT 'inner_product', column_name text DEFAULT NULL,
                                id_column text DEFAULT NULL, exact boolean DEFAULT true)
  RETURNS TABLE(id bigint, distance double precision)
  AS 'MODULE_PATHNAME', 'ruvector_search' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
COMMENT ON FUNCTION ruvector_search(regclass, ruvector, integer, text, text, text, boolean) IS
  'the k rows nearest the query (inner_product <#>, cosine <=>, l2 <->, poincare <~>), per partition then merged';

-- ruvector_attend as a state (m, l, O) that can cross a network, and the
-- aggregate that merges such states into softmax(logits) . V.
CREATE TYPE ruvector_attend_state;
CREATE FUNCTION ruvector_attend_state_in(cstring) RETURNS ruvector_attend_state
  AS 'MODULE_PATHNAME', 'ruvector_attend_state_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_state_out(ruvector_attend_state) RETURNS cstring
  AS 'MODULE_PATHNAME', 'ruvector_attend_state_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_state_recv(internal) RETURNS ruvector_attend_state
  AS 'MODULE_PATHNAME', 'ruvector_attend_state_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_state_send(ruvector_attend_state) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_attend_state_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE ruvector_attend_state (
  INPUT = ruvector_attend_state_in, OUTPUT = ruvector_attend_state_out,
  RECEIVE = ruvector_attend_state_recv, SEND = ruvector_attend_state_send,
  INTERNALLENGTH = VARIABLE, ALIGNMENT = double, STORAGE = extended);
CREATE FUNCTION ruvector_attend_state_final(internal) RETURNS ruvector_attend_state
  AS 'MODULE_PATHNAME', 'ruvector_attend_state_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_attend_state(query ruvector, key ruvector, value ruvector) (
  SFUNC = ruvector_attend_transition, STYPE = internal, FINALFUNC = ruvector_attend_state_final,
  COMBINEFUNC = ruvector_attend_combine, SERIALFUNC = ruvector_attend_serialize,
  DESERIALFUNC = ruvector_attend_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE ruvector_attend_state(query ruvector, key ruvector, value ruvector, attention_type text) (
  SFUNC = ruvector_attend_transition, STYPE = internal, FINALFUNC = ruvector_attend_state_final,
  COMBINEFUNC = ruvector_attend_combine, SERIALFUNC = ruvector_attend_serialize,
  DESERIALFUNC = ruvector_attend_deserialize, PARALLEL = SAFE);
-- The attention type inside jsonb, '{"attention_type": "cosine"}': postgres_fdw
-- ships no call with a text argument, so this is the form a shard runs.
CREATE FUNCTION ruvector_attend_transition(internal, ruvector, ruvector, ruvector, jsonb) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_attend_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_attend_state(query ruvector, key ruvector, value ruvector, attention jsonb) (
  SFUNC = ruvector_attend_transition, STYPE = internal, FINALFUNC = ruvector_attend_state_final,
  COMBINEFUNC = ruvector_attend_combine, SERIALFUNC = ruvector_attend_serialize,
  DESERIALFUNC = ruvector_attend_deserialize, PARALLEL = SAFE);
CREATE FUNCTION ruvector_attend_merge_transition(internal, ruvector_attend_state) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_attend_merge_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_attend_merge(state ruvector_attend_state) (
  SFUNC = ruvector_attend_merge_transition, STYPE = internal, FINALFUNC = ruvector_attend_final,
  COMBINEFUNC = ruvector_attend_combine, SERIALFUNC = ruvector_attend_serialize,
  DESERIALFUNC = ruvector_attend_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE ruvector_attend_state(ruvector, ruvector, ruvector) IS
  'ruvector_attend''s state (m, l, O) as a value, to merge with ruvector_attend_merge';
COMMENT ON AGGREGATE ruvector_attend_state(ruvector, ruvector, ruvector, text) IS
  'ruvector_attend''s state (m, l, O) as a value, to merge with ruvector_attend_merge';
COMMENT ON AGGREGATE ruvector_attend_state(ruvector, ruvector, ruvector, jsonb) IS
  'ruvector_attend''s state as a value, the attention type given as jsonb ({"attention_type": ...}), which postgres_fdw ships';
COMMENT ON AGGREGATE ruvector_attend_merge(ruvector_attend_state) IS
  'merges ruvector_attend_state values (one per partition or shard) into softmax(logits) . V';

-- ruvector_attend over a whole table, with one state per partition.
CREATE FUNCTION ruvector_attend_table(table_name regclass, query ruvector, key_column text DEFAULT NULL,
                                      value_column text DEFAULT NULL, attention_type text DEFAULT 'scaled_dot')
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_attend_table' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ruvector_attend_table(regclass, ruvector, text, text, text) IS
  'ruvector_attend(query, key, value) over every row of a table, one state per partition merged exactly';

-- The per-shard passes of ruvector_mha_search and ruvector_cross_attention.
CREATE FUNCTION ruvector_mha_normalisers_transition(internal, ruvector, ruvector, integer)
  RETURNS internal AS 'MODULE_PATHNAME', 'ruvector_mha_normalisers_transition' LANGUAGE C STABLE PARALLEL SAFE COST 50;
CREATE FUNCTION ruvector_mha_normalisers_final(internal) RETURNS float8[]
  AS 'MODULE_PATHNAME', 'ruvector_mha_normalisers_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_mha_normalisers(embedding ruvector, query ruvector, num_heads integer) (
  SFUNC = ruvector_mha_normalisers_transition, STYPE = internal, FINALFUNC = ruvector_mha_normalisers_final,
  COMBINEFUNC = ruvector_mha_scan_combine, SERIALFUNC = ruvector_mha_scan_serialize,
  DESERIALFUNC = ruvector_mha_scan_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE ruvector_mha_normalisers(ruvector, ruvector, integer) IS
  'each head''s log-sum-exp of the query''s scaled_dot logits over the rows (the first pass of a sharded ruvector_mha_search)';
CREATE FUNCTION ruvector_cross_scan_transition(internal, bigint, ruvector, real[], integer, jsonb)
  RETURNS internal AS 'MODULE_PATHNAME', 'ruvector_cross_scan_transition' LANGUAGE C STABLE PARALLEL SAFE COST 50;
CREATE FUNCTION ruvector_cross_scan_final(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_cross_scan_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE AGGREGATE ruvector_cross_scan(id bigint, document ruvector, queries real[], k integer,
                                     attention jsonb) (
  SFUNC = ruvector_cross_scan_transition, STYPE = internal, FINALFUNC = ruvector_cross_scan_final,
  FINALFUNC_MODIFY = READ_WRITE, PARALLEL = SAFE);
COMMENT ON AGGREGATE ruvector_cross_scan(bigint, ruvector, real[], integer, jsonb) IS
  'internal: one shard''s pass of ruvector_cross_attention (per query the log-sum-exp and the k best logits, as bytea)';

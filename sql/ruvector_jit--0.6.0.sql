-- ruvector_jit 0.6.0
\echo Use "CREATE EXTENSION ruvector_jit" to load this file. \quit

-- ---------------------------------------------------------------------------
-- The ruvector type: pgvector's layout, text and binary formats.
-- ---------------------------------------------------------------------------
CREATE TYPE ruvector;

CREATE FUNCTION ruvector_in(cstring, oid, integer) RETURNS ruvector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_out(ruvector) RETURNS cstring
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_typmod_in(cstring[]) RETURNS integer
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_recv(internal, oid, integer) RETURNS ruvector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_send(ruvector) RETURNS bytea
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE ruvector (
  INPUT     = ruvector_in,
  OUTPUT    = ruvector_out,
  TYPMOD_IN = ruvector_typmod_in,
  RECEIVE   = ruvector_recv,
  SEND      = ruvector_send,
  STORAGE   = external
);

-- Length coercion: enforces ruvector(n) on assignment and casts.
CREATE FUNCTION ruvector(ruvector, integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_coerce' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE CAST (ruvector AS ruvector) WITH FUNCTION ruvector(ruvector, integer, boolean) AS IMPLICIT;

-- Array casts (assignment, never implicit: implicit casts make operators ambiguous).
CREATE FUNCTION array_to_ruvector(integer[], integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'array_to_ruvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(real[], integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'array_to_ruvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(double precision[], integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'array_to_ruvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION array_to_ruvector(numeric[], integer, boolean) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'array_to_ruvector' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_to_float4(ruvector, integer, boolean) RETURNS real[]
  AS 'MODULE_PATHNAME', 'ruvector_to_float4' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE CAST (integer[] AS ruvector) WITH FUNCTION array_to_ruvector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS ruvector) WITH FUNCTION array_to_ruvector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (double precision[] AS ruvector) WITH FUNCTION array_to_ruvector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS ruvector) WITH FUNCTION array_to_ruvector(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (ruvector AS real[]) WITH FUNCTION ruvector_to_float4(ruvector, integer, boolean) AS ASSIGNMENT;

-- ---------------------------------------------------------------------------
-- Distances, dims, norm, arithmetic.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_l2_distance(ruvector, ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_negative_inner_product(ruvector, ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cosine_distance(ruvector, ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_dims(ruvector) RETURNS integer
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_norm(ruvector) RETURNS double precision
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_add(ruvector, ruvector) RETURNS ruvector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_sub(ruvector, ruvector) RETURNS ruvector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_mul(ruvector, ruvector) RETURNS ruvector
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR <-> (LEFTARG = ruvector, RIGHTARG = ruvector,
  FUNCTION = ruvector_l2_distance, COMMUTATOR = '<->');
CREATE OPERATOR <#> (LEFTARG = ruvector, RIGHTARG = ruvector,
  FUNCTION = ruvector_negative_inner_product, COMMUTATOR = '<#>');
CREATE OPERATOR <=> (LEFTARG = ruvector, RIGHTARG = ruvector,
  FUNCTION = ruvector_cosine_distance, COMMUTATOR = '<=>');
CREATE OPERATOR + (LEFTARG = ruvector, RIGHTARG = ruvector,
  FUNCTION = ruvector_add, COMMUTATOR = +);
CREATE OPERATOR - (LEFTARG = ruvector, RIGHTARG = ruvector, FUNCTION = ruvector_sub);
CREATE OPERATOR * (LEFTARG = ruvector, RIGHTARG = ruvector,
  FUNCTION = ruvector_mul, COMMUTATOR = *);

-- ---------------------------------------------------------------------------
-- Comparison and the btree operator class (DISTINCT, GROUP BY, ORDER BY).
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_lt(ruvector, ruvector) RETURNS bool
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_le(ruvector, ruvector) RETURNS bool
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_eq(ruvector, ruvector) RETURNS bool
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_ne(ruvector, ruvector) RETURNS bool
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_ge(ruvector, ruvector) RETURNS bool
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_gt(ruvector, ruvector) RETURNS bool
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_cmp(ruvector, ruvector) RETURNS integer
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR < (LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_lt,
  COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_le,
  COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR = (LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_eq,
  COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE OPERATOR <> (LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_ne,
  COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR >= (LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_ge,
  COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR > (LEFTARG = ruvector, RIGHTARG = ruvector, PROCEDURE = ruvector_gt,
  COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);

CREATE OPERATOR CLASS ruvector_ops DEFAULT FOR TYPE ruvector USING btree AS
  OPERATOR 1 <,
  OPERATOR 2 <=,
  OPERATOR 3 =,
  OPERATOR 4 >=,
  OPERATOR 5 >,
  FUNCTION 1 ruvector_cmp(ruvector, ruvector);

-- ---------------------------------------------------------------------------
-- Attention: JIT-compiled per-row scores.
-- IMMUTABLE: each is a fixed formula of its inputs, summed in one canonical
-- order, so the JIT on any ISA and the interpreter (ruvector_jit.enabled =
-- off) return the same bits.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_attention_score(query ruvector, key ruvector,
                                         attention_type text DEFAULT 'scaled_dot',
                                         params jsonb DEFAULT '{}')
  RETURNS real
  AS 'MODULE_PATHNAME', 'ruvector_attention_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_attention_score(query real[], key real[],
                                         attention_type text DEFAULT 'scaled_dot',
                                         params jsonb DEFAULT '{}')
  RETURNS real
  AS 'MODULE_PATHNAME', 'ruvector_attention_score_array' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ruvector_attention_types(
    OUT name text, OUT complexity text, OUT best_for text, OUT family text,
    OUT parameters text, OUT score_form text, OUT per_row boolean, OUT paper text, OUT sql_forms text)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'ruvector_attention_types' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ruvector_hyperbolic_distance(a ruvector, b ruvector, curvature real DEFAULT 1.0)
  RETURNS real
  AS 'MODULE_PATHNAME', 'ruvector_hyperbolic_distance' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The Poincare ball's maps (geoopt's PoincareBall(c), no projection).
CREATE FUNCTION ruvector_poincare_expmap0(v ruvector, curvature real DEFAULT 1.0)
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_poincare_expmap0' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_poincare_logmap0(v ruvector, curvature real DEFAULT 1.0)
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_poincare_logmap0' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_poincare_mobius_add(a ruvector, b ruvector, curvature real DEFAULT 1.0)
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_poincare_mobius_add' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

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

-- The weighted gyromidpoint of points of the ball (geoopt's weighted_midpoint).
CREATE FUNCTION ruvector_poincare_midpoint(points ruvector[], curvature real DEFAULT 1.0)
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_poincare_midpoint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_poincare_midpoint(points ruvector[], weights real[], curvature real DEFAULT 1.0)
  RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_poincare_weighted_midpoint' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Inspection: these report (or reset) this backend's kernel cache, so
-- VOLATILE and leader-only. isa NULL means the host.
CREATE FUNCTION ruvector_jit_explain(mechanism text, dims integer, params jsonb DEFAULT '{}', isa text DEFAULT NULL)
  RETURNS SETOF text
  AS 'MODULE_PATHNAME', 'ruvector_jit_explain' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
CREATE FUNCTION ruvector_jit_cache(
    OUT key text, OUT mechanism text, OUT dims integer, OUT isa text, OUT compiled boolean,
    OUT hits bigint, OUT object_bytes bigint, OUT compile_ms double precision)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'ruvector_jit_cache' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
CREATE FUNCTION ruvector_jit_cache_reset() RETURNS bigint
  AS 'MODULE_PATHNAME', 'ruvector_jit_cache_reset' LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

-- ---------------------------------------------------------------------------
-- Attention over a set of keys.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_softmax(logits real[]) RETURNS real[]
  AS 'MODULE_PATHNAME', 'ruvector_softmax' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION ruvector_attention_weights(query ruvector, keys ruvector[],
                                           attention_type text DEFAULT 'scaled_dot',
                                           params jsonb DEFAULT '{}')
  RETURNS real[]
  AS 'MODULE_PATHNAME', 'ruvector_attention_weights' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ruvector_attend(query, key, value [, attention_type]): softmax(logits) . V
-- of one query over the rows of a group, as an aggregate whose state is the
-- online-softmax state (m, l, O); parallel workers merge exactly.
CREATE FUNCTION ruvector_attend_transition(internal, ruvector, ruvector, ruvector) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_attend_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_transition(internal, ruvector, ruvector, ruvector, text) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_attend_transition' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_combine(internal, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_attend_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_serialize(internal) RETURNS bytea
  AS 'MODULE_PATHNAME', 'ruvector_attend_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_deserialize(bytea, internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'ruvector_attend_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION ruvector_attend_final(internal) RETURNS ruvector
  AS 'MODULE_PATHNAME', 'ruvector_attend_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE ruvector_attend(query ruvector, key ruvector, value ruvector) (
  SFUNC = ruvector_attend_transition, STYPE = internal, FINALFUNC = ruvector_attend_final,
  COMBINEFUNC = ruvector_attend_combine, SERIALFUNC = ruvector_attend_serialize,
  DESERIALFUNC = ruvector_attend_deserialize, PARALLEL = SAFE);
CREATE AGGREGATE ruvector_attend(query ruvector, key ruvector, value ruvector, attention_type text) (
  SFUNC = ruvector_attend_transition, STYPE = internal, FINALFUNC = ruvector_attend_final,
  COMBINEFUNC = ruvector_attend_combine, SERIALFUNC = ruvector_attend_serialize,
  DESERIALFUNC = ruvector_attend_deserialize, PARALLEL = SAFE);

-- ---------------------------------------------------------------------------
-- Attention over sequences: L queries over S (key, value) rows, with heads
-- and masks, run by the flash schedule (extra memory O(block)).
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_attention(queries ruvector[], keys ruvector[], "values" ruvector[],
                                   attention_type text DEFAULT 'scaled_dot', params jsonb DEFAULT '{}')
  RETURNS ruvector[]
  AS 'MODULE_PATHNAME', 'ruvector_attention' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- nn.MultiheadAttention with learned weights: in_proj (3 x E rows of E:
-- W_q, W_k, W_v), out_proj (E rows of E), optional biases. NULL biases are
-- no bias; NULL for any other argument gives NULL, as a STRICT function would.
CREATE FUNCTION ruvector_multi_head_attention(queries ruvector[], keys ruvector[], "values" ruvector[],
                                              in_proj ruvector[], out_proj ruvector[], num_heads integer DEFAULT 1,
                                              in_bias ruvector DEFAULT NULL, out_bias ruvector DEFAULT NULL)
  RETURNS ruvector[]
  AS 'MODULE_PATHNAME', 'ruvector_multi_head_attention' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Additive attention (Bahdanau et al. 2015) with its learned weights:
-- score(q, k) = v . tanh(W_q q + W_k k); w_query and w_key hold a rows each
-- (a = the length of v), of the query's and the key's dimension.
CREATE FUNCTION ruvector_additive_score(query ruvector, key ruvector, w_query ruvector[], w_key ruvector[],
                                        v ruvector)
  RETURNS real
  AS 'MODULE_PATHNAME', 'ruvector_additive_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- softmax over the keys of those scores, times the values; params: causal, block_size.
CREATE FUNCTION ruvector_additive_attention(queries ruvector[], keys ruvector[], "values" ruvector[],
                                            w_query ruvector[], w_key ruvector[], v ruvector,
                                            params jsonb DEFAULT '{}')
  RETURNS ruvector[]
  AS 'MODULE_PATHNAME', 'ruvector_additive_attention' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ---------------------------------------------------------------------------
-- Sliding-window attention over an array (0.2.0).
-- Self-attention within windows of window_size positions that start every
-- stride positions (1, 1 + stride, ...; the last one clipped at the end; no
-- window once one has reached the end): one row per window, its 1-based
-- inclusive bounds and the attended vectors.
CREATE FUNCTION ruvector_sliding_attention(embeddings ruvector[], window_size integer DEFAULT 256,
                                           stride integer DEFAULT 128, attention_type text DEFAULT 'scaled_dot',
                                           params jsonb DEFAULT '{}',
                                           OUT window_start integer, OUT window_end integer,
                                           OUT attended ruvector[])
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'ruvector_sliding_attention' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 16;
COMMENT ON FUNCTION ruvector_sliding_attention(ruvector[], integer, integer, text, jsonb) IS
  'self-attention within sliding windows: one row per window (window_start, window_end, attended)';

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

-- ---------------------------------------------------------------------------
-- Learned models (0.4.0): named weights, owned by the role that loaded them.
-- Row-level security is the ownership: every role reads a model unless its
-- owner sets readers (then only those roles, their members and the owner),
-- and only the owner (or a superuser) changes, replaces or drops it.
-- Extension configuration, so pg_dump keeps the rows.
-- ---------------------------------------------------------------------------
CREATE TABLE ruvector_models (
  name text PRIMARY KEY CHECK (name <> ''),
  kind text NOT NULL,
  owner name NOT NULL DEFAULT current_user,
  readers name[],
  config jsonb NOT NULL DEFAULT '{}',
  created timestamptz NOT NULL DEFAULT now());
CREATE TABLE ruvector_model_tensors (
  model text NOT NULL REFERENCES ruvector_models (name) ON DELETE CASCADE ON UPDATE CASCADE,
  name text NOT NULL,
  shape integer[] NOT NULL,
  data real[] NOT NULL,
  PRIMARY KEY (model, name));
SELECT pg_catalog.pg_extension_config_dump('ruvector_models', '');
SELECT pg_catalog.pg_extension_config_dump('ruvector_model_tensors', '');
ALTER TABLE ruvector_models ENABLE ROW LEVEL SECURITY;
ALTER TABLE ruvector_model_tensors ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON ruvector_models, ruvector_model_tensors TO PUBLIC;
CREATE POLICY ruvector_models_read ON ruvector_models FOR SELECT
  USING (readers IS NULL OR owner = current_user
         OR EXISTS (SELECT FROM pg_catalog.unnest(readers) AS r(role)
                    JOIN pg_catalog.pg_roles g ON g.rolname = r.role
                    WHERE pg_catalog.pg_has_role(current_user, g.oid, 'MEMBER')));
CREATE POLICY ruvector_models_insert ON ruvector_models FOR INSERT WITH CHECK (owner = current_user);
CREATE POLICY ruvector_models_update ON ruvector_models FOR UPDATE
  USING (owner = current_user) WITH CHECK (owner = current_user);
CREATE POLICY ruvector_models_delete ON ruvector_models FOR DELETE USING (owner = current_user);
CREATE POLICY ruvector_model_tensors_read ON ruvector_model_tensors FOR SELECT
  USING (EXISTS (SELECT FROM ruvector_models m WHERE m.name = model));
CREATE POLICY ruvector_model_tensors_write ON ruvector_model_tensors FOR ALL
  USING (EXISTS (SELECT FROM ruvector_models m WHERE m.name = model AND m.owner = current_user))
  WITH CHECK (EXISTS (SELECT FROM ruvector_models m WHERE m.name = model AND m.owner = current_user));

-- A named tensor; its array's dimensions are its shape.
CREATE TYPE ruvector_tensor AS (name text, data real[]);
CREATE FUNCTION ruvector_tensor(name text, data real[]) RETURNS ruvector_tensor
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ROW(name, data)::ruvector_tensor;
-- Loads (or with replace, replaces) a model after checking every tensor's
-- shape and the config against its kind; returns its config (with the dims
-- the shapes gave). Writes the model
-- tables as the caller: VOLATILE, PARALLEL UNSAFE.
CREATE FUNCTION ruvector_model_load(name text, kind text, tensors ruvector_tensor[], config jsonb DEFAULT '{}',
                                    replace boolean DEFAULT false)
  RETURNS jsonb
  AS 'MODULE_PATHNAME', 'ruvector_model_load' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
-- The same from a safetensors file on the server: only superusers and roles
-- with the privileges of pg_read_server_files (checked inside, with a clear
-- message), as for pg_read_file.
CREATE FUNCTION ruvector_model_load_file(name text, kind text, path text, config jsonb DEFAULT '{}',
                                         replace boolean DEFAULT false)
  RETURNS jsonb
  AS 'MODULE_PATHNAME', 'ruvector_model_load_file' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
CREATE FUNCTION ruvector_model_drop(name text) RETURNS void
  AS 'MODULE_PATHNAME', 'ruvector_model_drop' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

-- ---------------------------------------------------------------------------
-- Mixture-of-experts routing (0.4.0). STABLE: a model is read from the
-- model tables (with the caller's rights); without one the gate is the
-- documented fixed random gate. num_experts NULL: the model's count, else 8.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_moe_route(embedding ruvector, num_experts integer DEFAULT NULL, top_k integer DEFAULT NULL,
                                   model text DEFAULT NULL, params jsonb DEFAULT '{}')
  RETURNS jsonb
  AS 'MODULE_PATHNAME', 'ruvector_moe_route' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION ruvector_moe_expert_choice(embeddings ruvector[], num_experts integer DEFAULT NULL,
                                           capacity_factor float8 DEFAULT 2.0, model text DEFAULT NULL,
                                           OUT expert integer, OUT row_index integer, OUT weight real)
  RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'ruvector_moe_expert_choice' LANGUAGE C STABLE PARALLEL SAFE ROWS 16;
-- Reads the table with the caller's rights and writes a model: VOLATILE,
-- PARALLEL UNSAFE.
CREATE FUNCTION ruvector_moe_fit(table_name regclass, column_name text, num_experts integer, model_name text,
                                 max_iterations integer DEFAULT 50, seed bigint DEFAULT 0, replace boolean DEFAULT false)
  RETURNS jsonb
  AS 'MODULE_PATHNAME', 'ruvector_moe_fit' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- ---------------------------------------------------------------------------
-- Graph attention over node and edge tables (0.4.0). Reads the tables (and
-- a model) through SPI with the caller's rights: STABLE, PARALLEL
-- RESTRICTED. num_heads NULL: 4 without a model, the model's with one.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ruvector_gat_search(node_table regclass, edge_table regclass, query_node_id bigint,
                                    num_heads integer DEFAULT NULL, k integer DEFAULT 10, model text DEFAULT NULL,
                                    hops integer DEFAULT 1, node_id_column text DEFAULT NULL,
                                    feature_column text DEFAULT NULL, source_column text DEFAULT NULL,
                                    target_column text DEFAULT NULL, edge_feature_column text DEFAULT NULL)
  RETURNS TABLE (node_id bigint, attention_score real)
  AS 'MODULE_PATHNAME', 'ruvector_gat_search' LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10;
CREATE FUNCTION ruvector_gat_forward(node_table regclass, edge_table regclass, model text,
                                     node_id_column text DEFAULT NULL, feature_column text DEFAULT NULL,
                                     source_column text DEFAULT NULL, target_column text DEFAULT NULL,
                                     edge_feature_column text DEFAULT NULL)
  RETURNS TABLE (node_id bigint, features ruvector)
  AS 'MODULE_PATHNAME', 'ruvector_gat_forward' LANGUAGE C STABLE PARALLEL RESTRICTED;

-- Sequence attention with a model's weights (kind multi_head: the state_dict
-- of torch's nn.MultiheadAttention). Reads the model tables: STABLE.
CREATE FUNCTION ruvector_model_attention(model text, queries ruvector[], keys ruvector[], "values" ruvector[])
  RETURNS ruvector[]
  AS 'MODULE_PATHNAME', 'ruvector_model_attention' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- The product space E x H x S (mixed curvature): the per-row score of one
-- vector's three slices.
CREATE FUNCTION ruvector_mixed_curvature_score(query ruvector, key ruvector, euclidean_dims integer,
                                               hyperbolic_dims integer, hyperbolic_curvature real DEFAULT 1.0,
                                               spherical_curvature real DEFAULT 1.0, beta real DEFAULT 1.0,
                                               gamma real DEFAULT 0.0)
  RETURNS real
  AS 'MODULE_PATHNAME', 'ruvector_mixed_curvature_score' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

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

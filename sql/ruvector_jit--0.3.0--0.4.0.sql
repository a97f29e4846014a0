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

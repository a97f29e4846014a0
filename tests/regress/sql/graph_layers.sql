-- Graph layers from models: PyG's GATConv, TransformerConv and AGNNConv
-- loaded from their state_dicts, run by ruvector_gat_forward (GNN inference
-- in SQL) and ruvector_gat_search (their attention coefficients along
-- walks), exact against PyG (tests/fixtures/graph_layers.sql,
-- scripts/gen_catalogue_fixtures.py).
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/graph_layers.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

SELECT name, kind, config FROM ruvector_models WHERE name LIKE 'pyg_%' ORDER BY name;
-- the layer's output for every node, within 1e-5 relative of PyG's
SELECT e.model, count(*) AS nodes,
       bool_and(abs(u - v) <= 1e-5 * greatest(1, abs(v))) AS outputs_match
FROM gl_out e
JOIN LATERAL (SELECT * FROM ruvector_gat_forward('gl_nodes', CASE WHEN e.model = 'pyg_gat_edge' THEN 'gl_edge_features'
                                                  ELSE 'gl_edges' END::regclass, e.model) f
              WHERE f.node_id = e.node) f ON true,
     LATERAL unnest(f.features::real[], e.features::real[]) AS t(u, v)
GROUP BY e.model ORDER BY e.model;
SELECT count(*) AS rows_per_node FROM ruvector_gat_forward('gl_nodes', 'gl_edges', 'pyg_gat');
-- gat_search with a model: the coefficients PyG returns, averaged over heads, along walks
CREATE TEMP TABLE gl_got AS
SELECT c.model, c.hops, c.query, r.node_id AS node, r.attention_score::float8 AS score
FROM (SELECT DISTINCT model, hops, query FROM gl_walk) c,
     LATERAL ruvector_gat_search('gl_nodes', CASE WHEN c.model = 'pyg_gat_edge' THEN 'gl_edge_features'
                                                 ELSE 'gl_edges' END::regclass,
                                 c.query, k => 100, model => c.model, hops => c.hops) r;
SELECT e.model, e.hops, count(*) AS nodes, count(g.node) AS found,
       max(abs(g.score - e.score) / e.score) < 1e-5 AS scores_match
FROM gl_walk e LEFT JOIN gl_got g USING (model, hops, query, node)
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS extra FROM gl_got g LEFT JOIN gl_walk e USING (model, hops, query, node) WHERE e.node IS NULL;
-- the per-edge scores are engine kernels: the same bits from the interpreter
CREATE TEMP TABLE gl_jit AS SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edges', 'pyg_gat');
SET ruvector_jit.enabled = off;
SELECT bool_and(j.features = i.features) AS identical, count(*)
FROM gl_jit j JOIN ruvector_gat_forward('gl_nodes', 'gl_edges', 'pyg_gat') i USING (node_id);
RESET ruvector_jit.enabled;
SELECT count(*) AS leaky_relu_in_explain FROM ruvector_jit_explain('gat', 4) AS l WHERE l LIKE '%leaky_relu%';
SELECT count(*) AS edge_term_in_explain FROM ruvector_jit_explain('gat_edge', 4) AS l WHERE l LIKE '%dot%' OR l LIKE '%leaky_relu%';
-- edge features: named, or the edge table's single ruvector column; only for layers that take them
CREATE TABLE gl_edge_two (a bigint, b bigint, w ruvector(3), extra ruvector);
INSERT INTO gl_edge_two SELECT src, dst, features, features FROM gl_edge_features;
SELECT count(*) AS named_feature_column
FROM ruvector_gat_forward('gl_nodes', 'gl_edge_two', 'pyg_gat_edge', edge_feature_column => 'w');
SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edge_two', 'pyg_gat_edge');
SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edges', 'pyg_gat_edge');
SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edge_features', 'pyg_gat', edge_feature_column => 'features');
SELECT * FROM ruvector_gat_search('gl_nodes', 'gl_edge_two', 0, model => 'pyg_gat', edge_feature_column => 'w');
INSERT INTO gl_edge_two VALUES (1, 0, NULL, NULL);
SELECT * FROM ruvector_gat_search('gl_nodes', 'gl_edge_two', 0, model => 'pyg_gat_edge', edge_feature_column => 'w');
UPDATE gl_edge_two SET extra = '[1,2]' WHERE w IS NULL;
SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edge_two', 'pyg_gat_edge', edge_feature_column => 'extra');
SELECT ruvector_model_load('bad_edge', 'gat', ARRAY[ruvector_tensor('lin.weight', ARRAY[[1,0],[0,1]]::real[]),
                                                   ruvector_tensor('att_src', ARRAY[[[1,0]]]::real[]),
                                                   ruvector_tensor('att_dst', ARRAY[[[1,0]]]::real[]),
                                                   ruvector_tensor('lin_edge.weight', ARRAY[[1],[0]]::real[])]);
-- errors
SELECT * FROM ruvector_gat_search('gl_nodes', 'gl_edges', 0, num_heads => 3, model => 'pyg_gat');
SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edges', NULL);
SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edges', 'no_such_model');
SELECT ruvector_model_load('moe_for_graph', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[[1,0]]::real[])]) IS NOT NULL;
SELECT * FROM ruvector_gat_forward('gl_nodes', 'gl_edges', 'moe_for_graph');
CREATE TABLE gl_small (id bigint PRIMARY KEY, features ruvector(3));
INSERT INTO gl_small VALUES (1, '[1,2,3]');
SELECT * FROM ruvector_gat_forward('gl_small', 'gl_edges', 'pyg_gat');
SELECT ruvector_model_load('bad_gat', 'gat', ARRAY[ruvector_tensor('lin.weight', ARRAY[[1,0],[0,1],[1,1]]::real[]),
                                                  ruvector_tensor('att_src', ARRAY[[[1,0]]]::real[]),
                                                  ruvector_tensor('att_dst', ARRAY[[[1,0]]]::real[])]);
SELECT ruvector_model_load('bad_gat', 'gat', ARRAY[ruvector_tensor('lin.weight', ARRAY[[1,0],[0,1]]::real[]),
                                                  ruvector_tensor('att_src', ARRAY[[[1,0]],[[1,0]]]::real[]),
                                                  ruvector_tensor('att_dst', ARRAY[[[1,0]]]::real[])]);
SELECT ruvector_model_load('bad_gat', 'gat', ARRAY[ruvector_tensor('lin.weight', ARRAY[[1,0],[0,1]]::real[]),
                                                  ruvector_tensor('att_src', ARRAY[[[1,0]]]::real[]),
                                                  ruvector_tensor('att_dst', ARRAY[[[1,0]]]::real[])], '{"slope": 1}');
SELECT ruvector_model_load('bad_tf', 'graph_transformer',
         ARRAY[ruvector_tensor('lin_query.weight', ARRAY[[1,0],[0,1],[1,1]]::real[])], '{"heads": 2}');
-- models from files on the server (safetensors): written there first with
-- lo_export, so that the server's user can read them wherever the tests run
\set file_gat `base64 -w0 "$PG_ABS_SRCDIR/../fixtures/pyg_gat.safetensors"`
\set file_f64 `base64 -w0 "$PG_ABS_SRCDIR/../fixtures/pyg_gat_f64.safetensors"`
\set file_trunc `base64 -w0 "$PG_ABS_SRCDIR/../fixtures/truncated.safetensors"`
\set file_i64 `base64 -w0 "$PG_ABS_SRCDIR/../fixtures/int64.safetensors"`
SELECT lo_from_bytea(0, decode(:'file_gat', 'base64')) AS lo_gat, lo_from_bytea(0, decode(:'file_f64', 'base64')) AS lo_f64,
       lo_from_bytea(0, decode(:'file_trunc', 'base64')) AS lo_trunc, lo_from_bytea(0, decode(:'file_i64', 'base64')) AS lo_i64 \gset
SELECT lo_export(:lo_gat, '/tmp/rvj_regress_pyg_gat.safetensors') + lo_export(:lo_f64, '/tmp/rvj_regress_pyg_gat_f64.safetensors')
       + lo_export(:lo_trunc, '/tmp/rvj_regress_truncated.safetensors') + lo_export(:lo_i64, '/tmp/rvj_regress_int64.safetensors')
       + lo_unlink(:lo_gat) + lo_unlink(:lo_f64) + lo_unlink(:lo_trunc) + lo_unlink(:lo_i64) AS written;
SELECT ruvector_model_load_file('file_gat', 'gat', '/tmp/rvj_regress_pyg_gat.safetensors') AS from_safetensors;
SELECT ruvector_model_load_file('file_gat_f64', 'gat', '/tmp/rvj_regress_pyg_gat_f64.safetensors') AS from_npz;
-- the same bits as the model loaded from arrays, hence PyG's output
SELECT bool_and(a.features = f.features AND a.features = g.features) AS identical, count(*)
FROM ruvector_gat_forward('gl_nodes', 'gl_edges', 'pyg_gat') a
JOIN ruvector_gat_forward('gl_nodes', 'gl_edges', 'file_gat') f USING (node_id)
JOIN ruvector_gat_forward('gl_nodes', 'gl_edges', 'file_gat_f64') g USING (node_id);
SELECT ruvector_model_load_file('file_gat', 'gat', '/tmp/rvj_regress_pyg_gat.safetensors');
SELECT ruvector_model_load_file('file_bad', 'gat', '/tmp/rvj_regress_truncated.safetensors');
SELECT ruvector_model_load_file('file_bad', 'gat', '/tmp/rvj_regress_int64.safetensors');
SELECT ruvector_model_load_file('file_bad', 'gat', '/tmp/rvj_regress_no_such_file.safetensors');
SELECT ruvector_model_load_file('file_bad', 'moe_gate', '/tmp/rvj_regress_pyg_gat.safetensors');
-- reading server files follows pg_read_file's rule
CREATE ROLE gl_loader;
SET ROLE gl_loader;
SELECT ruvector_model_load_file('file_denied', 'gat', '/tmp/rvj_regress_pyg_gat.safetensors');
RESET ROLE;
GRANT pg_read_server_files TO gl_loader;
SET ROLE gl_loader;
SELECT ruvector_model_load_file('file_loader', 'gat', '/tmp/rvj_regress_pyg_gat.safetensors') IS NOT NULL AS loaded;
SELECT owner FROM ruvector_models WHERE name = 'file_loader';
RESET ROLE;
SELECT ruvector_model_drop('file_loader');
DROP ROLE gl_loader;
SELECT ruvector_model_drop(name) FROM ruvector_models
WHERE name LIKE 'pyg_%' OR name LIKE 'file_%' OR name = 'moe_for_graph' ORDER BY name;

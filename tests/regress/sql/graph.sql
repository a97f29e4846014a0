-- ruvector_gat_search without a model: dot-product graph attention from one
-- node, over walks of up to `hops` edges, exact against numpy
-- (tests/fixtures/graph.sql, scripts/gen_catalogue_fixtures.py); column
-- defaults, safety (quoting, privileges, row-level security) and errors.
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/graph.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

-- the plan's call
SELECT node_id, round(attention_score::numeric, 4) AS attention_score
FROM ruvector_gat_search(node_table := 'graph_nodes', edge_table := 'graph_edges', query_node_id := 1,
                         num_heads := 4, k := 5);
-- every (heads, hops, query) against numpy: the same nodes, scores within 1e-6 relative
CREATE TEMP TABLE graph_got AS
SELECT c.heads, c.hops, c.query, r.node_id AS node, r.attention_score::float8 AS score
FROM (SELECT DISTINCT heads, hops, query FROM graph_expected) c,
     LATERAL ruvector_gat_search('graph_nodes', 'graph_edges', c.query, c.heads, 100, hops => c.hops) r;
SELECT e.heads, e.hops, count(*) AS nodes, count(g.node) AS found,
       max(abs(g.score - e.score) / e.score) < 1e-6 AS scores_match
FROM graph_expected e LEFT JOIN graph_got g USING (heads, hops, query, node)
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS extra FROM graph_got g LEFT JOIN graph_expected e USING (heads, hops, query, node) WHERE e.node IS NULL;
-- k keeps the best, by descending score (ties: the lower id)
SELECT array_agg(node_id ORDER BY attention_score DESC, node_id) =
       (SELECT array_agg(node ORDER BY score DESC, node) FROM (SELECT node, score FROM graph_expected
        WHERE heads = 2 AND hops = 2 AND query = 7 ORDER BY score DESC, node LIMIT 3) t) AS top3_match
FROM ruvector_gat_search('graph_nodes', 'graph_edges', 7, 2, 3, hops => 2);
-- the query node is not returned, though its self-loop takes part: at one
-- hop the scores of the others sum to 1 minus its own weight
SELECT bool_and(node_id <> 1) AS query_left_out, sum(attention_score) < 1 AS below_one
FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, 1, 100);
-- a node without incoming edges has only its self-loop: nothing to return
INSERT INTO graph_nodes VALUES (100, '[1,1,1,1,1,1,1,1]');
SELECT count(*) AS alone FROM ruvector_gat_search('graph_nodes', 'graph_edges', 100, hops => 3);
-- column defaults and overrides: source/target, or named columns; integer ids of any width
CREATE TABLE graph_nodes_int (node int PRIMARY KEY, label text, emb ruvector);
INSERT INTO graph_nodes_int SELECT id, 'n' || id, features FROM graph_nodes;
CREATE TABLE graph_links (source int, target int, kind text);
INSERT INTO graph_links SELECT src, dst, 'x' FROM graph_edges;
SELECT count(*) = (SELECT count(*) FROM graph_expected WHERE heads = 2 AND hops = 2 AND query = 7) AS same_answer
FROM ruvector_gat_search('graph_nodes_int', 'graph_links', 7, 2, 100, hops => 2) a
  JOIN graph_expected e ON e.node = a.node_id AND e.heads = 2 AND e.hops = 2 AND e.query = 7
  WHERE abs(a.attention_score - e.score) / e.score < 1e-6;
CREATE TABLE "Graph Edges" ("from" bigint, "to" bigint, w bigint);
INSERT INTO "Graph Edges" SELECT src, dst, 0 FROM graph_edges;
SELECT count(*) AS quoted FROM ruvector_gat_search('graph_nodes', '"Graph Edges"', 1, 4, 100,
                                                  source_column => 'from', target_column => 'to');
CREATE TABLE graph_edges_plain (a bigint, b bigint);
INSERT INTO graph_edges_plain SELECT src, dst FROM graph_edges;
SELECT count(*) AS first_two_bigint FROM ruvector_gat_search('graph_nodes', 'graph_edges_plain', 1, 4, 100);
CREATE VIEW graph_nodes_view AS SELECT * FROM graph_nodes;
SELECT count(*) AS from_a_view FROM ruvector_gat_search('graph_nodes_view', 'graph_edges', 1, 4, 100,
                                                       node_id_column => 'id');
-- row-level security and privileges hold: a role sees only its edges
CREATE ROLE graph_reader;
GRANT SELECT ON graph_nodes, graph_edges TO graph_reader;
ALTER TABLE graph_edges ENABLE ROW LEVEL SECURITY;
CREATE POLICY graph_few ON graph_edges FOR SELECT TO graph_reader USING (src < 10);
SET ROLE graph_reader;
SELECT max(node_id) < 10 AS only_visible_sources, count(*) > 0 AS some
FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, 4, 100);
SELECT * FROM ruvector_gat_search('graph_nodes_int', 'graph_edges', 1);
RESET ROLE;
ALTER TABLE graph_edges DISABLE ROW LEVEL SECURITY;
DROP POLICY graph_few ON graph_edges;
REVOKE ALL ON graph_nodes, graph_edges FROM graph_reader;
DROP ROLE graph_reader;
-- errors
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 999);
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, k => 0);
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, hops => 0);
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, hops => 17);
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, num_heads => 3);
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, feature_column => 'nope');
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, source_column => 'src');
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_links', 1, source_column => 'kind', target_column => 'target');
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_nodes_int', 1);
SELECT * FROM ruvector_gat_search('graph_nodes_int', 'graph_links', 1, node_id_column => 'label');
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', NULL);
INSERT INTO graph_edges VALUES (555, 1);
SELECT * FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1);
DELETE FROM graph_edges WHERE src = 555;
-- memory stays within work_mem: a walk that outgrows it is an error, not a spill
SET work_mem = 64;
INSERT INTO graph_nodes SELECT 1000 + i, '[1,0,0,0,0,0,0,0]' FROM generate_series(1, 2000) i;
INSERT INTO graph_edges SELECT 1000 + i, 1 FROM generate_series(1, 2000) i;
SELECT count(*) FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1);
RESET work_mem;
SELECT count(*) AS with_hub FROM ruvector_gat_search('graph_nodes', 'graph_edges', 1, k => 5000);

-- Mixture-of-experts routing: ruvector_moe_route (topk, switch),
-- ruvector_moe_expert_choice and ruvector_moe_fit, with the default gate and
-- with models; exact against a numpy transcription (tests/fixtures/moe.sql,
-- scripts/gen_catalogue_fixtures.py). Then models: loading, checks, ownership.
SET extra_float_digits = 0;
\getenv abs_srcdir PG_ABS_SRCDIR
\set fixture :abs_srcdir '/../fixtures/moe.sql'
\set ECHO none
\set QUIET on
\i :fixture
\set QUIET off
\set ECHO all

-- the plan's call: 8 experts, top 2, the documented default gate
SELECT ruvector_moe_route(x, 8, 2) FROM moe_inputs WHERE id = 1;
SELECT ruvector_model_load('moe_trained', 'moe_gate',
         ARRAY[ruvector_tensor('weight', (SELECT array_agg(data ORDER BY expert) FROM moe_gate_weight)::real[]),
               ruvector_tensor('bias', :'moe_bias'::real[])]) AS config;
-- every case against numpy: the same experts in the same order, weights within 1e-6
CREATE TEMP TABLE moe_got AS
SELECT c.case_name, i.id, r.rank::int, r.expert::int, r.weight::float8
FROM (VALUES ('default_topk2', 8, 2, NULL, 'topk'), ('default_topk3_e6', 6, 3, NULL, 'topk'),
             ('default_switch', 8, 1, NULL, 'switch'), ('model_topk2', NULL, 2, 'moe_trained', 'topk'),
             ('model_switch', NULL, NULL, 'moe_trained', 'switch')) AS c(case_name, e, k, model, router),
     moe_inputs i,
     LATERAL (SELECT ruvector_moe_route(i.x, c.e, c.k, c.model, jsonb_build_object('router', c.router)) AS j) AS route,
     LATERAL jsonb_array_elements(route.j->'expert_indices') WITH ORDINALITY AS e(expert, rank)
     JOIN LATERAL jsonb_array_elements(route.j->'expert_weights') WITH ORDINALITY AS w(weight, rank2) ON rank2 = rank,
     LATERAL (SELECT e.rank, e.expert::text::int AS expert, w.weight::text::float8 AS weight) AS r;
SELECT e.case_name, count(*) AS entries,
       bool_and(g.expert = e.expert) AS same_experts, max(abs(g.weight - e.weight)) < 1e-6 AS weights_match
FROM moe_expected e LEFT JOIN moe_got g USING (case_name, id, rank)
GROUP BY e.case_name ORDER BY e.case_name;
SELECT count(*) AS extra_entries FROM moe_got g LEFT JOIN moe_expected e USING (case_name, id, rank) WHERE e.id IS NULL;
-- topk weights sum to 1; the switch weight is below 1 (the full softmax's)
SELECT bool_and(abs(s - 1) < 1e-6) AS topk_sums_to_one FROM
  (SELECT sum(weight) AS s FROM moe_got WHERE case_name LIKE '%topk%' GROUP BY case_name, id) t;
-- expert choice against numpy
SELECT 'default' AS gate, count(*) AS entries,
       bool_and(e.expert = g.expert AND e.row_index = g.row_index AND abs(e.weight - g.weight) < 1e-6) AS matches
FROM (SELECT row_number() OVER () AS n, * FROM ruvector_moe_expert_choice(
        (SELECT array_agg(x ORDER BY id) FROM moe_inputs), 4, 1.0)) g
JOIN (SELECT row_number() OVER (ORDER BY expert, weight DESC, row_index) AS n, * FROM moe_choice_expected
      WHERE case_name = 'default') e USING (n)
UNION ALL
SELECT 'model', count(*),
       bool_and(e.expert = g.expert AND e.row_index = g.row_index AND abs(e.weight - g.weight) < 1e-6)
FROM (SELECT row_number() OVER () AS n, * FROM ruvector_moe_expert_choice(
        (SELECT array_agg(x ORDER BY id) FROM moe_inputs), model => 'moe_trained')) g
JOIN (SELECT row_number() OVER (ORDER BY expert, weight DESC, row_index) AS n, * FROM moe_choice_expected
      WHERE case_name = 'model') e USING (n);
-- the default gate is balanced: over random inputs each expert's top-1 share is near 1/8
CREATE TEMP TABLE moe_random AS
  SELECT i, (SELECT array_agg(sin(i * 7919 + j * 104729) * 1000 - floor(sin(i * 7919 + j * 104729) * 1000) + 3)
             FROM generate_series(1, 32) j)::real[]::ruvector AS x
  FROM generate_series(1, 4000) i;
SELECT min(share) > 0.125 * 0.6 AS balanced_low, max(share) < 0.125 * 1.4 AS balanced_high, count(*) AS experts_used
FROM (SELECT (ruvector_moe_route(x, 8, 1)->'expert_indices'->>0)::int AS e, count(*) / 4000.0 AS share
      FROM moe_random GROUP BY 1) t;
-- fitting: k-means++ then Lloyd, against numpy; routing then follows the clusters
SELECT ruvector_moe_fit('moe_fit_rows', 'v', 3, 'moe_clusters', seed => 7) - 'iterations' AS fit;
SELECT bool_and(abs(a - b) < 1e-4) AS centroids_match
FROM moe_fit_expected f, ruvector_models m, ruvector_model_tensors t,
     LATERAL unnest(f.centroid::real[], t.data[f.expert + 1:f.expert + 1][1:2]) AS u(a, b)
WHERE m.name = 'moe_clusters' AND t.model = m.name AND t.name = 'weight';
SELECT count(DISTINCT (ruvector_moe_route(v, top_k => 1, model => 'moe_clusters')->'expert_indices'->>0)) AS experts,
       count(*) AS rows
FROM moe_fit_rows;
SELECT ruvector_moe_fit('moe_fit_rows'::regclass, NULL, 3, 'moe_clusters');
SELECT (ruvector_moe_fit('moe_fit_rows', NULL, 3, 'moe_clusters', replace => true, seed => 7) ->> 'rows') AS refit_rows;
-- errors
SELECT ruvector_moe_route('[1,2,3,4]', 4, 5);
SELECT ruvector_moe_route('[1,2,3,4]', 0);
SELECT ruvector_moe_route('[1,2,3,4]', 8, 2, params => '{"router": "switch"}');
SELECT ruvector_moe_route('[1,2,3,4]', params => '{"router": "expert_choice"}');
SELECT ruvector_moe_route('[1,2,3,4]', params => '{"rooter": "switch"}');
SELECT ruvector_moe_route('[1,2,3,4]', params => '[1]');
SELECT ruvector_moe_route('[1,2,3,4]', model => 'no_such_model');
SELECT ruvector_moe_route('[1,2,3]', model => 'moe_trained');
SELECT ruvector_moe_route('[1,2,3]', 4, model => 'moe_trained');
SELECT ruvector_moe_route(NULL) IS NULL AS null_in_null_out;
SELECT * FROM ruvector_moe_expert_choice(ARRAY['[1,2]']::ruvector[], capacity_factor => 0);
SELECT ruvector_moe_fit('moe_fit_rows', 'v', 500, 'too_many');
SELECT ruvector_moe_fit('moe_fit_rows', 'id', 3, 'bad_column');
-- models: shapes are checked on load and name what is expected
SELECT ruvector_model_load('bad', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[[1,0],[0,1]]::real[]),
                                                    ruvector_tensor('bias', ARRAY[1,2,3]::real[])]);
SELECT ruvector_model_load('bad', 'moe_gate', ARRAY[ruvector_tensor('bias', ARRAY[1,2,3]::real[])]);
SELECT ruvector_model_load('bad', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[1,2]::real[])]);
SELECT ruvector_model_load('bad', 'moe_gate', ARRAY[ruvector_tensor('gate.weight', ARRAY[[1,2]]::real[])]);
SELECT ruvector_model_load('bad', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[['NaN',2]]::real[])]);
SELECT ruvector_model_load('bad', 'moe', ARRAY[ruvector_tensor('weight', ARRAY[[1,2]]::real[])]);
SELECT ruvector_model_load('moe_trained', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[[1,2]]::real[])]);
-- a model changed behind load's back is checked again when used
UPDATE ruvector_model_tensors SET data = data[1:2] WHERE model = 'moe_clusters' AND name = 'bias';
SELECT ruvector_moe_route('[1,2]', model => 'moe_clusters');
-- ownership: others may use a model, only its owner replaces or drops it;
-- the owner restricts readers with UPDATE ruvector_models SET readers
CREATE ROLE moe_alice;
CREATE ROLE moe_bob;
GRANT USAGE ON SCHEMA public TO moe_alice, moe_bob;
SET ROLE moe_alice;
SELECT ruvector_model_load('alice_gate', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[[1,0],[0,1]]::real[])]);
RESET ROLE;
SET ROLE moe_bob;
SELECT ruvector_moe_route('[2,1]', model => 'alice_gate') AS bob_uses_it;
SELECT ruvector_model_drop('alice_gate');
SELECT ruvector_model_load('alice_gate', 'moe_gate', ARRAY[ruvector_tensor('weight', ARRAY[[1,0]]::real[])], replace => true);
DELETE FROM ruvector_models WHERE name = 'alice_gate';
INSERT INTO ruvector_models (name, kind, owner) VALUES ('forged', 'moe_gate', 'moe_alice');
RESET ROLE;
SET ROLE moe_alice;
UPDATE ruvector_models SET readers = ARRAY['moe_alice'] WHERE name = 'alice_gate';
RESET ROLE;
SET ROLE moe_bob;
SELECT ruvector_moe_route('[2,1]', model => 'alice_gate');
RESET ROLE;
SELECT name, owner, readers FROM ruvector_models WHERE name = 'alice_gate';
SELECT ruvector_model_drop('alice_gate');
SELECT ruvector_model_drop('alice_gate');
DROP OWNED BY moe_alice, moe_bob;
DROP ROLE moe_alice;
DROP ROLE moe_bob;
-- the model tables are extension configuration: pg_dump keeps their rows
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid
WHERE e.extname = 'ruvector_jit' ORDER BY 1;
SELECT ruvector_model_drop('moe_trained');
SELECT ruvector_model_drop('moe_clusters');

-- Additive attention (Bahdanau et al. 2015): v . tanh(W_q q + W_k k), its
-- learned weights as arguments. Reference (numpy, float64 on these inputs):
--   score([1,2], [0.5,-1,2]) = -1.5729922
--   scores of Q = [[1,2],[0,-1]] over K = [[0.5,-1,2],[1,1,1],[-2,0,1]]:
--     [[-1.5729922, -1.1388809, -1.3442194], [-0.5404471, -0.5921260, 0.1386901]]
--   softmax(scores) V, V = [[1,0],[0,1],[2,2]]: [[0.9246091, 1.0676349], [1.2607321, 1.2478895]]
--   the same, causal: [[1, 0], [0.5129169, 0.4870832]]
CREATE TEMP TABLE w (name text PRIMARY KEY, rows ruvector[]);
INSERT INTO w VALUES ('w_query', ARRAY['[0.1,0.2]', '[-0.3,0.4]']::ruvector[]),
                     ('w_key', ARRAY['[0.5,0,-0.5]', '[0.2,0.2,0.2]']::ruvector[]);
SELECT round(ruvector_additive_score('[1,2]', '[0.5,-1,2]',
                                     (SELECT rows FROM w WHERE name = 'w_query'),
                                     (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]')::float8::numeric, 6) AS score;
-- per-row form: rank a table's rows (queries and keys of different dimensions)
CREATE TEMP TABLE docs (id int, embedding ruvector(3));
INSERT INTO docs VALUES (1, '[0.5,-1,2]'), (2, '[1,1,1]'), (3, '[-2,0,1]');
SELECT id, round(ruvector_additive_score('[0,-1]', embedding,
                                         (SELECT rows FROM w WHERE name = 'w_query'),
                                         (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]')::float8::numeric, 6) AS score
FROM docs ORDER BY 2 DESC;
-- sequence form
SELECT ruvector_additive_attention(ARRAY['[1,2]', '[0,-1]']::ruvector[],
                                   ARRAY['[0.5,-1,2]', '[1,1,1]', '[-2,0,1]']::ruvector[],
                                   ARRAY['[1,0]', '[0,1]', '[2,2]']::ruvector[],
                                   (SELECT rows FROM w WHERE name = 'w_query'),
                                   (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]') AS out;
SELECT ruvector_additive_attention(ARRAY['[1,2]', '[0,-1]']::ruvector[],
                                   ARRAY['[0.5,-1,2]', '[1,1,1]', '[-2,0,1]']::ruvector[],
                                   ARRAY['[1,0]', '[0,1]', '[2,2]']::ruvector[],
                                   (SELECT rows FROM w WHERE name = 'w_query'),
                                   (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]', '{"causal": true}') AS causal;
-- the interpreter gives the same bits
CREATE TEMP TABLE jit_scores AS
  SELECT i, ruvector_additive_score(ARRAY[sin(i), cos(i)]::real[]::ruvector, embedding,
                                    (SELECT rows FROM w WHERE name = 'w_query'),
                                    (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]') AS s
  FROM generate_series(1, 50) i, docs WHERE id = 2;
SET ruvector_jit.enabled = off;
SELECT bool_and(s = ruvector_additive_score(ARRAY[sin(i), cos(i)]::real[]::ruvector, '[1,1,1]',
                                            (SELECT rows FROM w WHERE name = 'w_query'),
                                            (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]')) AS identical,
       count(*)
FROM jit_scores;
RESET ruvector_jit.enabled;
-- listed, with its own functions; explain shows the sum of tanh terms
SELECT name, per_row, parameters, sql_forms FROM ruvector_attention_types() WHERE name = 'additive';
SELECT count(*) AS sum_rows FROM ruvector_jit_explain('additive', 70) AS l
WHERE l LIKE '%1 sum(s) of an elementwise expression over 70 elements%' OR l LIKE '%sum.f64%';
-- bad input: the generic forms have no weights; shapes; params
SELECT ruvector_attention_score('[1,2]'::ruvector, '[3,4]'::ruvector, 'additive');
SELECT ruvector_attention('{"[1,2]"}', '{"[3,4]"}', '{"[1]"}', 'additive');
SELECT ruvector_attention_weights('[1,2]', '{"[3,4]"}', 'additive');
SELECT ruvector_additive_score('[1,2]', '[0.5,-1,2]', (SELECT rows FROM w WHERE name = 'w_key'),
                               (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]');
SELECT ruvector_additive_score('[1,2]', '[0.5,-1]', (SELECT rows FROM w WHERE name = 'w_query'),
                               (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]');
SELECT ruvector_additive_score('[1,2]', '[0.5,-1,2]', (SELECT rows FROM w WHERE name = 'w_query'),
                               (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2,3]');
SELECT ruvector_additive_score('[1,2]', '[0.5,-1,2]', '{}', (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]');
SELECT ruvector_additive_attention('{"[1,2]"}', '{"[0.5,-1,2]"}', '{"[1]","[2]"}',
                                   (SELECT rows FROM w WHERE name = 'w_query'),
                                   (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]');
SELECT ruvector_additive_attention('{"[1,2]"}', '{"[0.5,-1,2]"}', '{"[1]"}',
                                   (SELECT rows FROM w WHERE name = 'w_query'),
                                   (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]', '{"num_heads": 2}');
SELECT ruvector_additive_attention('{"[1,2]"}', '{"[0.5,-1,2]"}', '{"[1]"}',
                                   (SELECT rows FROM w WHERE name = 'w_query'),
                                   (SELECT rows FROM w WHERE name = 'w_key'), '[1,-2]', '{"block_size": 0}');
-- a projection that overflows real is an error, never a NaN score
SELECT ruvector_additive_score('[3e38,3e38]', '[-3e38,-3e38]', ARRAY['[1,1]']::ruvector[], ARRAY['[1,1]']::ruvector[], '[1]');
SELECT ruvector_additive_attention('{"[1,1]"}', '{"[3e38,3e38]"}', '{"[1]"}', ARRAY['[1,1]']::ruvector[],
                                   ARRAY['[1,1]']::ruvector[], '[1]');

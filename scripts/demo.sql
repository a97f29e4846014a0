-- The demo: attention over real documents inside PostgreSQL.
\pset footer off
\echo
\echo 'The table: Debian package descriptions, embedded with all-MiniLM-L6-v2'
SELECT count(*) AS documents, ruvector_dims(embedding) AS dims, round(avg(ruvector_norm(embedding))::numeric, 3) AS mean_norm
FROM documents GROUP BY 2;

\echo
\echo 'Attention-ranked neighbours: ORDER BY ruvector_attention_score(q, k) DESC LIMIT 5,'
\echo 'with the softmax weight of each among the five (unit-length embeddings give small'
\echo 'logits q.k/sqrt(384), so the weights are close to uniform: the ranking is what counts)'
SELECT q.package AS query, n.package AS neighbour,
       round(n.score::numeric, 4) AS logit,
       round((exp(n.score) / sum(exp(n.score)) OVER (PARTITION BY q.package))::numeric, 3) AS weight,
       left(n.title, 50) AS title
FROM documents q
CROSS JOIN LATERAL (
  SELECT d.package, d.title, ruvector_attention_score(q.embedding, d.embedding, 'scaled_dot') AS score
  FROM documents d
  WHERE d.id <> q.id
  ORDER BY score DESC
  LIMIT 5) n
WHERE q.package IN ('postgresql-15', 'gimp', 'nginx', 'ffmpeg')
ORDER BY q.package, n.score DESC;

\echo
\echo 'Sharper weights: the same five neighbours of postgresql-15, weighted by cosine attention'
\echo 'with temperature tau = 20 (ruvector_attention_weights over the set)'
WITH q AS (SELECT embedding FROM documents WHERE package = 'postgresql-15'),
top AS (
  SELECT d.package, d.embedding FROM documents d, q
  WHERE d.package <> 'postgresql-15'
  ORDER BY ruvector_attention_score(q.embedding, d.embedding) DESC LIMIT 5)
SELECT t.package, round(w::numeric, 3) AS weight
FROM (SELECT array_agg(package ORDER BY package) AS names,
             ruvector_attention_weights((SELECT embedding FROM q), array_agg(embedding ORDER BY package),
                                        'cosine', '{"tau": 20}') AS weights
      FROM top) x,
     unnest(x.names, x.weights) AS t(package, w)
ORDER BY w DESC;

\echo
\echo 'Sparse attention: sparsemax over the logits of the 10 nearest neighbours of postgresql-15'
\echo '(the query scaled by 200 for sharper logits q.k/sqrt(384)); unlike the softmax it gives exact zeros'
WITH q AS (SELECT embedding FROM documents WHERE package = 'postgresql-15'),
top AS (
  SELECT d.package, d.embedding FROM documents d, q
  WHERE d.package <> 'postgresql-15'
  ORDER BY ruvector_attention_score(q.embedding, d.embedding) DESC LIMIT 10)
SELECT t.package, round(s::numeric, 3) AS softmax, round(w::numeric, 3) AS sparsemax
FROM (SELECT array_agg(package ORDER BY package) AS names,
             ruvector_attention_weights((SELECT embedding * array_fill(200, ARRAY[384])::real[]::ruvector FROM q), array_agg(embedding ORDER BY package)) AS soft,
             ruvector_attention_weights((SELECT embedding * array_fill(200, ARRAY[384])::real[]::ruvector FROM q), array_agg(embedding ORDER BY package),
                                        'sparsemax') AS weights
      FROM top) x,
     unnest(x.names, x.soft, x.weights) AS t(package, s, w)
ORDER BY w DESC, s DESC;

\echo
\echo 'Vector arithmetic: what sits between a database server and a web server?'
\echo '(query = embedding(postgresql-15) + embedding(nginx), ranked by the cosine attention score)'
SELECT d.package, round(ruvector_attention_score(q.v, d.embedding, 'cosine')::numeric, 4) AS cosine,
       left(d.title, 60) AS title
FROM documents d,
     (SELECT a.embedding + b.embedding AS v FROM documents a, documents b
      WHERE a.package = 'postgresql-15' AND b.package = 'nginx') q
WHERE d.package NOT IN ('postgresql-15', 'nginx')
ORDER BY ruvector_attention_score(q.v, d.embedding, 'cosine') DESC
LIMIT 5;

\echo
\echo 'The kernel that ranked them: ruvector_jit_explain(''scaled_dot'', 384), header, IR and the vector loop'
SELECT line AS "ruvector_jit_explain"
FROM ruvector_jit_explain('scaled_dot', 384) WITH ORDINALITY AS t(line, n)
WHERE n <= 15 OR line ~ '\m(vfmadd|fmla|vaddps|vmulps)'
LIMIT 40;

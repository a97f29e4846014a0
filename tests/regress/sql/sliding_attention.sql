-- ruvector_sliding_attention: self-attention within windows that start every
-- stride positions (1-based, inclusive bounds), the last clipped at the end.
SET client_min_messages = warning;
CREATE TEMP TABLE seq AS
  SELECT array_agg(ARRAY[sin(i), cos(i), i % 3 - 1]::real[]::ruvector ORDER BY i) AS x FROM generate_series(1, 10) i;

-- the windows: 1-4, 3-6, 5-8, 7-10 (that one reaches the end: no more)
SELECT window_start, window_end, array_length(attended, 1) AS rows
  FROM seq, ruvector_sliding_attention(x, window_size := 4, stride := 2);
-- each window is ruvector_attention over its rows, bit for bit
SELECT bool_and(w.attended = ruvector_attention(x[w.window_start:w.window_end], x[w.window_start:w.window_end],
                                               x[w.window_start:w.window_end])) AS same_as_attention, count(*)
  FROM seq, ruvector_sliding_attention(x, 4, 2) w;
-- clipped last window; stride = window; a window longer than the array
SELECT window_start, window_end FROM seq, ruvector_sliding_attention(x, 4, 4);
SELECT window_start, window_end FROM seq, ruvector_sliding_attention(x, 256, 128);
SELECT window_start, window_end FROM seq, ruvector_sliding_attention(x, 3, 3);
-- the attention type and its params, as ruvector_attention takes them
SELECT bool_and(w.attended = ruvector_attention(x[w.window_start:w.window_end], x[w.window_start:w.window_end],
                                               x[w.window_start:w.window_end], 'causal')) AS causal_windows
  FROM seq, ruvector_sliding_attention(x, 5, 5, 'causal') w;
SELECT count(*) FROM seq, ruvector_sliding_attention(x, 4, 2, 'cosine', '{"tau": 10}');
-- the defaults: window 256, stride 128
SELECT window_start, window_end FROM seq, ruvector_sliding_attention(x);
-- an empty array has no windows
SELECT count(*) FROM ruvector_sliding_attention('{}'::ruvector[]);

-- bad input
SELECT * FROM seq, ruvector_sliding_attention(x, 0, 1);
SELECT * FROM seq, ruvector_sliding_attention(x, 4, 0);
SELECT * FROM seq, ruvector_sliding_attention(x, 4, 5);
SELECT * FROM seq, ruvector_sliding_attention(x, 4, 2, 'nope');
SELECT * FROM seq, ruvector_sliding_attention(x, 4, 2, 'scaled_dot', '{"window": 3}');
SELECT * FROM ruvector_sliding_attention(ARRAY['[1,2]', '[1,2,3]']::ruvector[], 2, 1);
SELECT * FROM ruvector_sliding_attention(ARRAY['[1,2]', NULL]::ruvector[], 2, 1);
SELECT * FROM seq, ruvector_sliding_attention(x, 4, 2, 'scaled_dot', '{"num_heads": 2}');

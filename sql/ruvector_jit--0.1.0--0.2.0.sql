-- ruvector_jit 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION ruvector_jit UPDATE TO '0.2.0'" to load this file. \quit

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

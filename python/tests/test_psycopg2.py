"""psycopg2 (text format only): round trips, lists, arrays, top-k."""

from __future__ import annotations

import numpy as np
import pytest
from pgvector import Vector

from conftest import assert_bits_equal, literal, random_floats


def test_round_trip_exact(pg2):
    rows = random_floats(4096, seed=21).reshape(-1, 16)
    with pg2.cursor() as cur:
        cur.execute("CREATE TEMP TABLE rt (id int, e ruvector(16))")
        cur.executemany("INSERT INTO rt VALUES (%s, %s)", list(enumerate(rows)))
        cur.execute("SELECT id, e FROM rt ORDER BY id")
        got = cur.fetchall()
    assert len(got) == len(rows)
    for (_, e), want in zip(got, rows):
        assert_bits_equal(e, want)


def test_parameters_of_every_kind(pg2):
    with pg2.cursor() as cur:
        cur.execute("CREATE TEMP TABLE k (id int, e ruvector(3))")
        cur.execute(
            "INSERT INTO k VALUES (1, %s), (2, %s), (3, %s), (4, %s)",
            (np.array([1.5, 2.5, 3.5]), [4, 5, 6], [7.25, 8.0, 9.0], Vector([1, 2, 4])),
        )
        cur.execute("SELECT id, e FROM k ORDER BY id")
        got = dict(cur.fetchall())
        assert_bits_equal(got[1], [1.5, 2.5, 3.5])
        assert_bits_equal(got[2], [4, 5, 6])  # a list: ARRAY[...], cast on assignment
        assert_bits_equal(got[3], [7.25, 8, 9])
        assert_bits_equal(got[4], [1, 2, 4])
        cur.execute("SELECT %s <-> '[0,0,0]', %s::ruvector <-> '[0,0,0]'", (np.array([3, 4, 0]), [3.0, 4.0, 0.0]))
        assert cur.fetchone() == (5.0, 5.0)
        cur.execute("SELECT NULL::ruvector, NULL::ruvector[]")
        assert cur.fetchone() == (None, None)


def test_arrays(pg2):
    rows = random_floats(3 * 8, seed=22).reshape(3, 8)
    with pg2.cursor() as cur:
        cur.execute("SELECT %s", (list(rows),))  # a list of arrays is a ruvector[]
        got = cur.fetchone()[0]
        assert isinstance(got, list) and len(got) == 3
        for g, w in zip(got, rows):
            assert_bits_equal(g, w)
        rng = np.random.default_rng(23)
        q, k, v = (list(rng.standard_normal((n, 8), dtype=np.float32)) for n in (2, 5, 5))
        cur.execute("SELECT ruvector_attention(%s, %s, %s)", (q, k, v))
        out = cur.fetchone()[0]
        assert len(out) == 2 and all(o.dtype == np.float32 and o.shape == (8,) for o in out)


@pytest.mark.parametrize("op", ["<->", "<#>", "<=>"])
def test_top_k_matches_literal(pg2, op):
    rng = np.random.default_rng(24)
    data = rng.standard_normal((1000, 32), dtype=np.float32)
    q = rng.standard_normal(32, dtype=np.float32)
    with pg2.cursor() as cur:
        cur.execute("CREATE TEMP TABLE items (id bigint, embedding ruvector(32))")
        cur.executemany("INSERT INTO items VALUES (%s, %s)", list(enumerate(data)))
        cur.execute(f"SELECT id, embedding {op} %s FROM items ORDER BY embedding {op} %s LIMIT 5", (q, q))
        by_param = cur.fetchall()
        cur.execute(f"SELECT id, embedding {op} {literal(q)} FROM items ORDER BY embedding {op} {literal(q)} LIMIT 5")
        assert by_param == cur.fetchall()

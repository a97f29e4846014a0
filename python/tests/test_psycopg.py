"""psycopg 3, sync: text and binary, arrays, top-k, COPY BINARY."""

from __future__ import annotations

import time

import numpy as np
import psycopg
import pytest
from pgvector import Vector

from conftest import assert_bits_equal, literal, random_floats

MODES = ["text", "binary"]


@pytest.mark.parametrize("send", MODES)
@pytest.mark.parametrize("recv", MODES)
def test_round_trip_exact(pg3, send, recv):
    values = random_floats(4096, seed=1)
    rows = values.reshape(-1, 16)
    pg3.execute("CREATE TEMP TABLE rt (id int, e ruvector(16))")
    placeholder = "%t" if send == "text" else "%b"
    with pg3.cursor() as cur:
        cur.executemany(f"INSERT INTO rt VALUES (%s, {placeholder})", list(enumerate(rows)))
    with pg3.cursor(binary=(recv == "binary")) as cur:
        got = cur.execute("SELECT id, e FROM rt ORDER BY id").fetchall()
    assert [i for i, _ in got] == list(range(len(rows)))
    for (_, e), want in zip(got, rows):
        assert_bits_equal(e, want)


@pytest.mark.parametrize("mode", MODES)
def test_one_long_vector(pg3, mode):
    v = random_floats(16000, seed=2)
    p = "%t" if mode == "text" else "%b"
    got = pg3.cursor(binary=(mode == "binary")).execute(f"SELECT {p}::ruvector", (v,)).fetchone()[0]
    assert_bits_equal(got, v)


def test_parameters_of_every_kind(pg3):
    pg3.execute("CREATE TEMP TABLE k (id int, e ruvector(3))")
    pg3.execute(
        "INSERT INTO k VALUES (1, %s), (2, %s), (3, %s), (4, %s), (5, %s)",
        (
            np.array([1, 2, 3], dtype=np.float32),
            np.array([1.5, 2.5, 3.5]),  # float64: rounded to float32
            np.array([4, 5, 6]),  # integers
            [7.0, 8.0, 9.0],  # a list: float8[], cast on assignment
            Vector([1, 2, 4]),
        ),
    )
    got = dict(pg3.execute("SELECT id, e FROM k").fetchall())
    assert_bits_equal(got[2], [1.5, 2.5, 3.5])
    assert_bits_equal(got[3], [4, 5, 6])
    assert_bits_equal(got[4], [7, 8, 9])
    # Lists where no cast applies: explicit cast, or wrap them.
    assert pg3.execute("SELECT %s::ruvector <-> '[0,0,0]'", ([3.0, 4.0, 0.0],)).fetchone()[0] == 5.0
    assert pg3.execute("SELECT %s <-> '[0,0,0]'", (Vector([3, 4, 0]),)).fetchone()[0] == 5.0
    assert pg3.execute("SELECT NULL::ruvector").fetchone()[0] is None


@pytest.mark.parametrize("mode", MODES)
def test_arrays(pg3, mode):
    rows = random_floats(3 * 8, seed=3).reshape(3, 8)
    cur = pg3.cursor(binary=(mode == "binary"))
    p = "%t" if mode == "text" else "%b"
    # ruvector[] out and back in, a list of numpy arrays each way.
    got = cur.execute(f"SELECT {p}::ruvector[]", (list(rows),)).fetchone()[0]
    assert isinstance(got, list) and len(got) == 3
    for g, w in zip(got, rows):
        assert_bits_equal(g, w)
    got = cur.execute("SELECT ARRAY[NULL, %s]::ruvector[]", (rows[0],)).fetchone()[0]
    assert got[0] is None
    assert_bits_equal(got[1], rows[0])


def test_attention_returns_list_of_arrays(pg3):
    rng = np.random.default_rng(4)
    q, k, v = (list(rng.standard_normal((n, 8), dtype=np.float32)) for n in (2, 5, 5))
    results = []
    for binary in (False, True):
        out = pg3.cursor(binary=binary).execute(
            "SELECT ruvector_attention(%s, %s, %s)", (q, k, v)).fetchone()[0]
        assert isinstance(out, list) and len(out) == 2
        assert all(isinstance(o, np.ndarray) and o.dtype == np.float32 and o.shape == (8,) for o in out)
        results.append(out)
    for a, b in zip(*results):
        assert_bits_equal(a, b)
    # scaled-dot attention: softmax(q k^T / sqrt(d)) v
    qa, ka, va = (np.array(x, dtype=np.float64) for x in (q, k, v))
    logits = qa @ ka.T / np.sqrt(8)
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.array(results[0]), w @ va, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op", ["<->", "<#>", "<=>"])
@pytest.mark.parametrize("mode", MODES)
def test_top_k_matches_literal(pg3, op, mode):
    rng = np.random.default_rng(5)
    data = rng.standard_normal((2000, 32), dtype=np.float32)
    pg3.execute("CREATE TEMP TABLE items (id bigint, embedding ruvector(32))")
    with pg3.cursor() as cur:
        with cur.copy("COPY items FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "ruvector"])
            for i, row in enumerate(data):
                copy.write_row((i, row))
    q = rng.standard_normal(32, dtype=np.float32)
    cur = pg3.cursor(binary=(mode == "binary"))
    p = "%t" if mode == "text" else "%b"
    by_param = cur.execute(
        f"SELECT id, embedding {op} {p} FROM items ORDER BY embedding {op} {p} LIMIT 5", (q, q)).fetchall()
    by_literal = cur.execute(
        f"SELECT id, embedding {op} {literal(q)} FROM items ORDER BY embedding {op} {literal(q)} LIMIT 5"
    ).fetchall()
    assert by_param == by_literal
    if op == "<->":  # and numpy agrees on the ranking
        assert [i for i, _ in by_param] == list(np.argsort(np.linalg.norm(data - q, axis=1))[:5])


def test_copy_binary_100k(pg3):
    n, dim = 100_000, 384
    data = np.random.default_rng(6).standard_normal((n, dim), dtype=np.float32)
    pg3.execute("CREATE TEMP TABLE bulk (id bigint, embedding ruvector(384))")
    t0 = time.perf_counter()
    with pg3.cursor() as cur:
        with cur.copy("COPY bulk (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "ruvector"])
            for i, row in enumerate(data):
                copy.write_row((i, row))
    elapsed = time.perf_counter() - t0
    count, dims = pg3.execute("SELECT count(*), min(ruvector_dims(embedding)) FROM bulk").fetchone()
    assert (count, dims) == (n, dim)
    # Every row to the bit: the server's sum of norms against numpy's, then
    # a sample read back whole.
    total = pg3.execute("SELECT sum(ruvector_norm(embedding)) FROM bulk").fetchone()[0]
    np.testing.assert_allclose(total, np.linalg.norm(data.astype(np.float64), axis=1).sum(), rtol=1e-6)
    ids = np.random.default_rng(7).choice(n, 200, replace=False).tolist()
    with pg3.cursor(binary=True) as cur:
        for i, e in cur.execute("SELECT id, embedding FROM bulk WHERE id = ANY(%s)", (ids,)):
            assert_bits_equal(e, data[i])
    print(f"COPY BINARY: {n} rows x {dim} dims in {elapsed:.2f} s ({n / elapsed:,.0f} rows/s)")


def test_copy_binary_out(pg3):
    data = random_floats(64 * 8, seed=8).reshape(64, 8)
    pg3.execute("CREATE TEMP TABLE c (id bigint, e ruvector)")
    with pg3.cursor().copy("COPY c FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["bigint", "ruvector"])
        for i, row in enumerate(data):
            copy.write_row((i, row))
    with pg3.cursor().copy("COPY c TO STDOUT WITH (FORMAT BINARY)") as copy:
        copy.set_types(["bigint", "ruvector"])
        got = list(copy.rows())
    assert len(got) == 64
    for i, e in got:
        assert_bits_equal(e, data[i])


def test_register_on_cursor_only(pg3):
    import ruvector_jit

    with psycopg.connect(pg3.info.dsn, autocommit=True) as conn:
        plain = conn.execute("SELECT '[1,2]'::ruvector").fetchone()[0]
        assert plain == "[1,2]"  # not registered: text
        cur = conn.cursor()
        ruvector_jit.register_ruvector(cur)
        assert_bits_equal(cur.execute("SELECT '[1,2]'::ruvector").fetchone()[0], [1, 2])

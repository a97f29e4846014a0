"""asyncpg: binary (default) and text codecs, arrays, top-k, pools."""

from __future__ import annotations

import asyncpg
import numpy as np
import pytest
from pgvector import Vector

from conftest import asyncpg_params, assert_bits_equal, literal, random_floats
from ruvector_jit.asyncpg import register_ruvector

pytestmark = pytest.mark.asyncio
FORMATS = ["binary", "text"]


async def connect(fmt: str = "binary") -> asyncpg.Connection:
    conn = await asyncpg.connect(**asyncpg_params())
    await register_ruvector(conn, format=fmt)
    return conn


@pytest.mark.parametrize("fmt", FORMATS)
async def test_round_trip_exact(fmt):
    rows = random_floats(4096, seed=31).reshape(-1, 16)
    conn = await connect(fmt)
    try:
        await conn.execute("CREATE TEMP TABLE rt (id int, e ruvector(16))")
        await conn.executemany("INSERT INTO rt VALUES ($1, $2)", list(enumerate(rows)))
        got = await conn.fetch("SELECT id, e FROM rt ORDER BY id")
    finally:
        await conn.close()
    assert len(got) == len(rows)
    for r, want in zip(got, rows):
        assert_bits_equal(r["e"], want)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_parameters_and_arrays(fmt):
    conn = await connect(fmt)
    try:
        # lists work wherever the server infers ruvector: asyncpg sends the type it infers
        assert await conn.fetchval("SELECT $1 <-> '[0,0,0]'::ruvector", [3, 4, 0]) == 5.0
        assert await conn.fetchval("SELECT $1 <-> '[0,0,0]'::ruvector", np.array([3, 4, 0], dtype=np.float32)) == 5.0
        assert await conn.fetchval("SELECT $1 <-> '[0,0,0]'::ruvector", Vector([3, 4, 0])) == 5.0
        assert await conn.fetchval("SELECT $1::ruvector", None) is None

        rows = random_floats(3 * 8, seed=32).reshape(3, 8)
        # ruvector[] parameters: elements as pgvector.Vector (asyncpg reads a
        # nested list or array as another array dimension)
        got = await conn.fetchval("SELECT $1::ruvector[]", [Vector(r) for r in rows])
        assert isinstance(got, list) and len(got) == 3
        for g, w in zip(got, rows):
            assert_bits_equal(g, w)
        rng = np.random.default_rng(33)
        q, k, v = ([Vector(x) for x in rng.standard_normal((n, 8), dtype=np.float32)] for n in (2, 5, 5))
        out = await conn.fetchval("SELECT ruvector_attention($1, $2, $3)", q, k, v)
        assert len(out) == 2 and all(o.dtype == np.float32 and o.shape == (8,) for o in out)
    finally:
        await conn.close()


@pytest.mark.parametrize("op", ["<->", "<#>", "<=>"])
async def test_top_k_matches_literal(op):
    rng = np.random.default_rng(34)
    data = rng.standard_normal((2000, 32), dtype=np.float32)
    q = rng.standard_normal(32, dtype=np.float32)
    conn = await connect()
    try:
        await conn.execute("CREATE TEMP TABLE items (id bigint, embedding ruvector(32))")
        await conn.copy_records_to_table("items", records=list(enumerate(data)))  # COPY BINARY
        by_param = await conn.fetch(
            f"SELECT id, embedding {op} $1 AS d FROM items ORDER BY embedding {op} $1 LIMIT 5", q)
        by_literal = await conn.fetch(
            f"SELECT id, embedding {op} {literal(q)} AS d FROM items ORDER BY embedding {op} {literal(q)} LIMIT 5")
        assert [tuple(r) for r in by_param] == [tuple(r) for r in by_literal]
    finally:
        await conn.close()


async def test_pool_init():
    async with asyncpg.create_pool(**asyncpg_params(), min_size=1, max_size=2, init=register_ruvector) as pool:
        got = await pool.fetchval("SELECT '[1,2,3]'::ruvector")
    assert_bits_equal(got, [1, 2, 3])


async def test_not_installed():
    conn = await asyncpg.connect(**asyncpg_params(asyncpg_params()["database"] + "_noext"))
    try:
        with pytest.raises(ValueError, match="CREATE EXTENSION ruvector_jit"):
            await register_ruvector(conn)
        with pytest.raises(ValueError, match="CREATE EXTENSION ruvector_jit"):
            await register_ruvector(conn, schema="public")
    finally:
        await conn.close()

"""psycopg 3, async: register_ruvector_async, text and binary, arrays, COPY."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

import ruvector_jit
from conftest import assert_bits_equal, literal, params, random_floats

pytestmark = pytest.mark.asyncio


async def connect() -> psycopg.AsyncConnection:
    conn = await psycopg.AsyncConnection.connect(**params(), autocommit=True)
    await ruvector_jit.register_ruvector_async(conn)
    return conn


@pytest.mark.parametrize("mode", ["text", "binary"])
async def test_round_trip_exact(mode):
    rows = random_floats(1024, seed=11).reshape(-1, 16)
    async with await connect() as conn:
        await conn.execute("CREATE TEMP TABLE rt (id int, e ruvector(16))")
        p = "%t" if mode == "text" else "%b"
        async with conn.cursor() as cur:
            await cur.executemany(f"INSERT INTO rt VALUES (%s, {p})", list(enumerate(rows)))
        async with conn.cursor(binary=(mode == "binary")) as cur:
            await cur.execute("SELECT id, e FROM rt ORDER BY id")
            got = await cur.fetchall()
    assert len(got) == len(rows)
    for (i, e), want in zip(got, rows):
        assert_bits_equal(e, want)


async def test_top_k_arrays_and_copy():
    rng = np.random.default_rng(12)
    data = rng.standard_normal((1000, 16), dtype=np.float32)
    q = rng.standard_normal(16, dtype=np.float32)
    async with await connect() as conn:
        await conn.execute("CREATE TEMP TABLE items (id bigint, embedding ruvector(16))")
        async with conn.cursor() as cur:
            async with cur.copy("COPY items FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["bigint", "ruvector"])
                for i, row in enumerate(data):
                    await copy.write_row((i, row))
        cur = await conn.execute("SELECT id FROM items ORDER BY embedding <-> %s LIMIT 5", (q,))
        by_param = [r[0] for r in await cur.fetchall()]
        cur = await conn.execute(f"SELECT id FROM items ORDER BY embedding <-> {literal(q)} LIMIT 5")
        assert by_param == [r[0] for r in await cur.fetchall()]
        assert by_param == list(np.argsort(np.linalg.norm(data - q, axis=1))[:5])

        cur = await conn.execute(
            "SELECT ruvector_attention(%s, array_agg(embedding ORDER BY id), array_agg(embedding ORDER BY id))"
            " FROM items WHERE id < 10", ([q],), binary=True)
        (out,) = await cur.fetchone()
        assert isinstance(out, list) and len(out) == 1
        assert out[0].dtype == np.float32 and out[0].shape == (16,)


async def test_not_installed():
    conn = await psycopg.AsyncConnection.connect(**params(params()["dbname"] + "_noext"), autocommit=True)
    async with conn:
        with pytest.raises(psycopg.ProgrammingError, match="CREATE EXTENSION ruvector_jit"):
            await ruvector_jit.register_ruvector_async(conn)

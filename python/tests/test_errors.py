"""Bad inputs get clear errors, from the server or before anything is sent."""

from __future__ import annotations

import asyncpg
import numpy as np
import psycopg
import psycopg2
import pytest

import ruvector_jit
import ruvector_jit.psycopg2
from conftest import NOEXT_DBNAME, asyncpg_params, params
from ruvector_jit.asyncpg import register_ruvector as register_asyncpg

FOUR = np.array([1, 2, 3, 4], dtype=np.float32)
NAN = np.array([1, np.nan, 3], dtype=np.float32)
TWO_D = np.ones((2, 3), dtype=np.float32)


def test_not_installed_psycopg():
    with psycopg.connect(**params(NOEXT_DBNAME)) as conn:
        with pytest.raises(psycopg.ProgrammingError, match="CREATE EXTENSION ruvector_jit"):
            ruvector_jit.register_ruvector(conn)


def test_not_installed_psycopg2():
    conn = psycopg2.connect(**params(NOEXT_DBNAME))
    try:
        with pytest.raises(psycopg2.ProgrammingError, match="CREATE EXTENSION ruvector_jit"):
            ruvector_jit.psycopg2.register_ruvector(conn)
    finally:
        conn.close()


@pytest.mark.parametrize("p", ["%t", "%b"])
def test_psycopg(pg3, p):
    pg3.execute("CREATE TEMP TABLE t3 (e ruvector(3))")
    with pytest.raises(psycopg.errors.DataException, match="expected 3 dimensions, not 4") as e:
        pg3.execute(f"INSERT INTO t3 VALUES ({p})", (FOUR,))
    assert e.value.sqlstate == "22000"
    with pytest.raises(psycopg.errors.DataException, match="NaN not allowed") as e:
        pg3.execute(f"INSERT INTO t3 VALUES ({p})", (NAN,))
    assert e.value.sqlstate == "22000"
    with pytest.raises(ValueError, match=r"1-D array.*shape \(2, 3\)"):
        pg3.execute(f"INSERT INTO t3 VALUES ({p})", (TWO_D,))
    # the connection is still fine
    assert pg3.execute("SELECT count(*) FROM t3").fetchone()[0] == 0


def test_psycopg2(pg2):
    with pg2.cursor() as cur:
        cur.execute("CREATE TEMP TABLE t3 (e ruvector(3))")
        with pytest.raises(psycopg2.errors.DataException, match="expected 3 dimensions, not 4") as e:
            cur.execute("INSERT INTO t3 VALUES (%s)", (FOUR,))
        assert e.value.pgcode == "22000"
        with pytest.raises(psycopg2.errors.DataException, match="NaN not allowed") as e:
            cur.execute("INSERT INTO t3 VALUES (%s)", (NAN,))
        assert e.value.pgcode == "22000"
        with pytest.raises(ValueError, match=r"1-D array.*shape \(2, 3\)"):
            cur.execute("INSERT INTO t3 VALUES (%s)", (TWO_D,))
        cur.execute("SELECT count(*) FROM t3")
        assert cur.fetchone()[0] == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", ["binary", "text"])
async def test_asyncpg(fmt):
    conn = await asyncpg.connect(**asyncpg_params())
    try:
        await register_asyncpg(conn, format=fmt)
        await conn.execute("CREATE TEMP TABLE t3 (e ruvector(3))")
        with pytest.raises(asyncpg.DataError, match="expected 3 dimensions, not 4") as e:
            await conn.execute("INSERT INTO t3 VALUES ($1)", FOUR)
        assert e.value.sqlstate == "22000"
        with pytest.raises(asyncpg.DataError, match="NaN not allowed") as e:
            await conn.execute("INSERT INTO t3 VALUES ($1)", NAN)
        assert e.value.sqlstate == "22000"
        # client side: asyncpg wraps the encoder's ValueError in its DataError
        with pytest.raises(asyncpg.DataError, match=r"1-D array.*shape \(2, 3\)") as e:
            await conn.execute("INSERT INTO t3 VALUES ($1)", TWO_D)
        assert isinstance(e.value.__cause__, ValueError)
        # a list of arrays for ruvector[]: asyncpg descends into them
        with pytest.raises(asyncpg.DataError, match="pgvector.Vector"):
            await conn.fetchval("SELECT $1::ruvector[]", [np.ones(3)])
        assert await conn.fetchval("SELECT count(*) FROM t3") == 0
    finally:
        await conn.close()


def test_sqlalchemy_bind_rejects_2d():
    from ruvector_jit.sqlalchemy import RuVector

    process = RuVector(3).bind_processor(None)
    with pytest.raises(ValueError, match="1-D array"):
        process(TWO_D)

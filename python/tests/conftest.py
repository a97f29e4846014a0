"""Fixtures: a fresh database with the extension, and one without it.

Connection parameters come from the environment, with libpq's names:
PGHOST (default: the local socket directory /var/run/postgresql), PGPORT
(5432), PGUSER (the current OS user), PGPASSWORD (none). RUVECTOR_TEST_DB
names the test database (default ruvector_python_test; it is dropped and
recreated, and dropped again at the end), RUVECTOR_ADMIN_DB the database to
connect to for that (default postgres).
"""

from __future__ import annotations

import getpass
import os
import time

import numpy as np
import psycopg
import pytest
from psycopg import sql

HOST = os.environ.get("PGHOST") or "/var/run/postgresql"
PORT = int(os.environ.get("PGPORT") or 5432)
USER = os.environ.get("PGUSER") or getpass.getuser()
PASSWORD = os.environ.get("PGPASSWORD") or None
DBNAME = os.environ.get("RUVECTOR_TEST_DB") or "ruvector_python_test"
NOEXT_DBNAME = DBNAME + "_noext"
ADMIN_DB = os.environ.get("RUVECTOR_ADMIN_DB") or "postgres"


def params(dbname: str = DBNAME) -> dict:
    """libpq keywords (psycopg 3 and psycopg2)."""
    p = {"host": HOST, "port": PORT, "user": USER, "dbname": dbname}
    if PASSWORD:
        p["password"] = PASSWORD
    return p


def asyncpg_params(dbname: str = DBNAME) -> dict:
    p = {"host": HOST, "port": PORT, "user": USER, "database": dbname}
    if PASSWORD:
        p["password"] = PASSWORD
    return p


def sqlalchemy_url(driver: str, dbname: str = DBNAME) -> str:
    from sqlalchemy import URL

    return URL.create(
        f"postgresql+{driver}", username=USER, password=PASSWORD, port=PORT,
        database=dbname, query={"host": HOST},
    ).render_as_string(hide_password=False)


def _admin_connect() -> psycopg.Connection:
    # The server may be restarting (another process reinstalling the
    # extension): retry for a while before giving up.
    deadline = time.monotonic() + 30
    while True:
        try:
            return psycopg.connect(**params(ADMIN_DB), autocommit=True)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _recreate(admin: psycopg.Connection, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session", autouse=True)
def databases():
    with _admin_connect() as admin:
        available = admin.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'ruvector_jit'").fetchone()
        if not available:
            pytest.exit("the ruvector_jit extension is not installed in this PostgreSQL server", 2)
        for name in (DBNAME, NOEXT_DBNAME):
            _recreate(admin, name)
    with psycopg.connect(**params(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION ruvector_jit")
    yield
    with _admin_connect() as admin:
        for name in (DBNAME, NOEXT_DBNAME):
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg3():
    """A psycopg 3 connection with ruvector registered."""
    import ruvector_jit

    with psycopg.connect(**params(), autocommit=True) as conn:
        ruvector_jit.register_ruvector(conn)
        yield conn


@pytest.fixture
def pg2():
    """A psycopg2 connection with ruvector registered."""
    import psycopg2

    import ruvector_jit.psycopg2

    conn = psycopg2.connect(**params())
    conn.autocommit = True
    ruvector_jit.psycopg2.register_ruvector(conn)
    yield conn
    conn.close()


def random_floats(n: int, seed: int) -> np.ndarray:
    """Every finite float32 bit pattern is fair game: random bits (denormals,
    extremes, both zeros), then a few chosen edge values."""
    bits = np.random.default_rng(seed).integers(0, 2**32, size=4 * n, dtype=np.uint32)
    values = bits.view(np.float32)
    values = values[np.isfinite(values)][: n - 8]
    edges = np.array([0.0, -0.0, 0.1, 1 / 3, np.pi, 1e-45, 1.1754944e-38, 3.4028235e38],
                     dtype=np.float32)
    return np.concatenate([edges, values]).astype(np.float32)


def assert_bits_equal(got, want) -> None:
    """Equal to the bit (so -0.0 differs from 0.0), and returned as float32."""
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == np.float32 and got.ndim == 1
    want = np.asarray(want, dtype=np.float32)
    assert got.shape == want.shape
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def literal(v) -> str:
    """A SQL ruvector literal written without the package: repr of each float."""
    return "'[" + ",".join(repr(float(x)) for x in np.asarray(v, dtype=np.float32)) + "]'::ruvector"

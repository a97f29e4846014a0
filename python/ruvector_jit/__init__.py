"""Python drivers for the ruvector_jit PostgreSQL extension.

``ruvector`` uses pgvector's wire formats; this package registers the type
(and ``ruvector[]``) with each driver, on top of pgvector-python's ``Vector``:

- psycopg 3: ``ruvector_jit.register_ruvector(conn)``,
  ``await ruvector_jit.register_ruvector_async(conn)``
- psycopg2: ``ruvector_jit.psycopg2.register_ruvector(conn)``
- asyncpg: ``await ruvector_jit.asyncpg.register_ruvector(conn)``
- SQLAlchemy: ``ruvector_jit.sqlalchemy.RuVector(dim)``

Parameters: 1-D numpy arrays, lists of numbers, ``pgvector.Vector``.
Results: 1-D ``numpy.float32`` arrays (ruvector[]: lists of them).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["register_ruvector", "register_ruvector_async"]


def register_ruvector(conn: Any) -> None:
    """psycopg 3 (sync): register ruvector and ruvector[] on ``conn``."""
    from .psycopg import register_ruvector as register

    register(conn)


async def register_ruvector_async(conn: Any) -> None:
    """psycopg 3 (async): register ruvector and ruvector[] on ``conn``."""
    from .psycopg import register_ruvector_async as register

    await register(conn)

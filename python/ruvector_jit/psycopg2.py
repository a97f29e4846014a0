"""psycopg2: ruvector and ruvector[] (psycopg2 speaks text format only).

psycopg2 registers adapters (Python -> SQL) process-wide; the typecasters
(SQL -> Python) go on the connection or cursor given, or process-wide with
``globally=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg2
from psycopg2.extensions import (
    AsIs,
    QuotedString,
    connection as _connection,
    cursor as _cursor,
    new_array_type,
    new_type,
    register_adapter,
    register_type,
)
from pgvector import Vector

from . import _codec

__all__ = ["register_ruvector"]

# What the adapter casts to: the type's name as the registering connection's
# search_path spells it (set by register_ruvector; adapters are global).
_regtype = "ruvector"


class _RuVectorAdapter:
    """'[1,2,3]'::ruvector. The cast makes a list of arrays a ruvector[]
    (ARRAY['[1,2]'::ruvector, ...]) rather than a text[]."""

    def __init__(self, value: Any) -> None:
        self._text = _codec.to_text(value)
        self._conn = None

    def prepare(self, conn: Any) -> None:
        self._conn = conn

    def getquoted(self) -> bytes:
        quoted = QuotedString(self._text)
        if self._conn is not None:
            quoted.prepare(self._conn)
        return quoted.getquoted() + b"::" + AsIs(_regtype).getquoted()


def _cast(value: str | None, cur: Any) -> np.ndarray | None:
    if value is None:
        return None
    return _codec.from_text(value)


def register_ruvector(conn_or_curs: Any, *, globally: bool = False, arrays: bool = True) -> None:
    """Register ruvector (and ruvector[]) with psycopg2.

    Results come back as 1-D float32 numpy arrays, ruvector[] as lists of
    them. numpy arrays and pgvector.Vector are sent as ruvector; lists go as
    ARRAY[...], which the server casts to a ruvector column on INSERT/UPDATE
    (elsewhere write %s::ruvector or pass numpy.asarray(lst)).
    """
    global _regtype
    conn = conn_or_curs if isinstance(conn_or_curs, _connection) else conn_or_curs.connection
    with conn.cursor(cursor_factory=_cursor) as cur:
        cur.execute(
            "SELECT t.oid, t.typarray, t.oid::regtype::text FROM pg_type t WHERE t.oid = to_regtype(%s)",
            (_codec.TYPE_NAME,),
        )
        row = cur.fetchone()
    if row is None:
        raise psycopg2.ProgrammingError(_codec.NOT_INSTALLED)
    oid, array_oid, regtype = row
    scope = None if globally else conn_or_curs

    ruvector = new_type((oid,), "RUVECTOR", _cast)
    register_type(ruvector, scope)
    if arrays:
        register_type(new_array_type((array_oid,), "RUVECTORARRAY", ruvector), scope)

    _regtype = regtype
    register_adapter(Vector, _RuVectorAdapter)
    register_adapter(np.ndarray, _RuVectorAdapter)

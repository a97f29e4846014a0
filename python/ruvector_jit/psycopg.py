"""psycopg 3: ruvector and ruvector[] in text and binary format, COPY included."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo
from pgvector import Vector

from . import _codec

__all__ = ["register_ruvector", "register_ruvector_async", "register_ruvector_info"]


class _TextDumper(Dumper):
    format = Format.TEXT

    def dump(self, obj: Any) -> bytes:
        return _codec.to_text(obj).encode()


class _BinaryDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Any) -> bytes:
        return _codec.to_binary(obj)


class _TextLoader(Loader):
    format = Format.TEXT

    def load(self, data: Any) -> Any:
        return _codec.from_text(bytes(data).decode())


class _BinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: Any) -> Any:
        return _codec.from_binary(data)


def register_ruvector_info(context: Any, info: TypeInfo | None) -> None:
    """Register ruvector (and ruvector[]) from an already fetched TypeInfo.

    ``context`` is a connection or a cursor; ``info`` is
    ``TypeInfo.fetch(conn, 'ruvector')``. numpy arrays and ``pgvector.Vector``
    are sent as ruvector; ruvector values are read as 1-D float32 numpy arrays.
    """
    if info is None:
        raise psycopg.ProgrammingError(_codec.NOT_INSTALLED)
    # Adds the type to the context's registry and registers ruvector[] (arrays
    # are then dumped and loaded element by element with the adapters below).
    info.register(context)

    # The oid on the dumper lets copy.set_types(['ruvector']) and ruvector[]
    # find it; a class per registration, as the oid differs between databases.
    text_dumper = type("RuVectorDumper", (_TextDumper,), {"oid": info.oid})
    binary_dumper = type("RuVectorBinaryDumper", (_BinaryDumper,), {"oid": info.oid})

    adapters = context.adapters
    for cls in (Vector, "numpy.ndarray"):
        # text first: the last one registered serves %s, so %s is binary.
        adapters.register_dumper(cls, text_dumper)
        adapters.register_dumper(cls, binary_dumper)
    adapters.register_loader(info.oid, _TextLoader)
    adapters.register_loader(info.oid, _BinaryLoader)


def register_ruvector(context: Any) -> None:
    """Register ruvector on a psycopg 3 connection (or cursor)."""
    conn = getattr(context, "connection", context)
    register_ruvector_info(context, TypeInfo.fetch(conn, _codec.TYPE_NAME))


async def register_ruvector_async(context: Any) -> None:
    """Register ruvector on a psycopg 3 AsyncConnection (or async cursor)."""
    conn = getattr(context, "connection", context)
    register_ruvector_info(context, await TypeInfo.fetch(conn, _codec.TYPE_NAME))

"""asyncpg: ruvector and ruvector[] in binary (default) or text format."""

from __future__ import annotations

from typing import Any

from . import _codec

__all__ = ["register_ruvector"]


async def register_ruvector(conn: Any, *, schema: str | None = None, format: str = "binary") -> None:
    """Register ruvector on an asyncpg connection (await it).

    ``schema``: where the extension lives; by default the schema of the
    ``ruvector`` the search_path finds. ``format``: ``'binary'`` (default) or
    ``'text'``, the wire format asyncpg uses for ruvector. Parameters: 1-D
    numpy arrays, lists of numbers, pgvector.Vector; results: 1-D float32
    numpy arrays. asyncpg builds ruvector[] from this codec by itself: lists
    of arrays go in, lists of numpy arrays come out.

    In a connection pool, pass it as ``init=register_ruvector``.
    """
    if format not in ("binary", "text"):
        raise ValueError("format must be 'binary' or 'text'")
    if schema is None:
        schema = await conn.fetchval(
            "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "WHERE t.oid = to_regtype($1)",
            _codec.TYPE_NAME,
        )
        if schema is None:
            raise ValueError(_codec.NOT_INSTALLED)
    try:
        await conn.set_type_codec(
            _codec.TYPE_NAME,
            schema=schema,
            encoder=_codec.to_binary if format == "binary" else _codec.to_text,
            decoder=_codec.from_binary if format == "binary" else _codec.from_text,
            format=format,
        )
    except ValueError as e:
        if str(e).startswith("unknown type"):
            raise ValueError(f"{_codec.NOT_INSTALLED} (schema {schema!r})") from None
        raise

"""The one place values cross between Python and the ruvector wire formats.

There is no codec here: ruvector's text (``[1,2,3]``) and binary (int16 dim,
int16 unused, dim big-endian float4) formats are pgvector's, so every
conversion goes through :class:`pgvector.Vector`. This module only decides
what goes in (1-D numpy arrays, lists, ``pgvector.Vector``) and what comes
out (1-D ``numpy.float32`` arrays).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pgvector import Vector

TYPE_NAME = "ruvector"

NOT_INSTALLED = (
    "type ruvector not found in the database (searched the search_path): "
    "run CREATE EXTENSION ruvector_jit in this database first"
)


def to_vector(value: Any) -> Vector:
    """A parameter as a pgvector Vector, or a clear ValueError."""
    if isinstance(value, Vector):
        return value
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(
                f"a ruvector parameter must be a 1-D array, got a {value.ndim}-D array "
                f"of shape {value.shape}: pass one row (for ruvector[], a list of rows)"
            )
        if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
            raise ValueError(f"a ruvector parameter must hold real numbers, got dtype {value.dtype}")
        return Vector(value)
    if isinstance(value, (list, tuple)):
        try:
            return Vector(list(value))
        except (ValueError, TypeError) as e:
            raise ValueError(f"a ruvector parameter must be a flat list of numbers ({e})") from None
    if isinstance(value, str):
        # SQLAlchemy and hand-written code may hand over the text form.
        return Vector.from_text(value)
    hint = ""
    if isinstance(value, (int, float, np.number)):
        hint = (
            " (asyncpg reads lists and arrays inside a ruvector[] parameter as array"
            " dimensions: pass its elements as pgvector.Vector)"
        )
    raise ValueError(
        f"cannot send {type(value).__name__} as ruvector: pass a 1-D numpy array, "
        f"a list of numbers or a pgvector.Vector{hint}"
    )


def to_text(value: Any) -> str:
    return to_vector(value).to_text()


def to_binary(value: Any) -> bytes:
    return to_vector(value).to_binary()


def _native(a: np.ndarray) -> np.ndarray:
    # Native-endian float32 (older pgvector releases hand out big-endian
    # arrays from from_binary); no copy when it already is.
    return np.asarray(a, dtype=np.float32)


def from_text(text: str) -> np.ndarray:
    return _native(Vector.from_text(text).to_numpy())


def from_binary(data: bytes | bytearray | memoryview) -> np.ndarray:
    return _native(Vector.from_binary(data).to_numpy())


def to_numpy(value: Any) -> np.ndarray | None:
    """A result value as numpy, whatever form the driver produced."""
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, Vector):
        return _native(value.to_numpy())
    if isinstance(value, str):
        return from_text(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return from_binary(value)
    if isinstance(value, (list, tuple)):
        return np.asarray(value, dtype=np.float32)
    raise ValueError(f"cannot read {type(value).__name__} as ruvector")

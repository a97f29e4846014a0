"""SQLAlchemy 2.x: the RuVector(dim) column type and its distance operators."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import Float, String, TypeEngine, UserDefinedType

from . import _codec

__all__ = ["RuVector", "RUVECTOR"]


class RuVector(UserDefinedType[Any]):
    """A ``ruvector`` / ``ruvector(dim)`` column.

    Values bind as pgvector's text format (from 1-D numpy arrays, lists or
    pgvector.Vector) and load as 1-D float32 numpy arrays, with or without
    the driver-level registration. Comparator methods are the extension's
    operators: ``l2_distance`` (``<->``), ``max_inner_product`` (``<#>``,
    the negative inner product) and ``cosine_distance`` (``<=>``).
    """

    cache_ok = True
    _string = String()

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def get_col_spec(self, **kw: Any) -> str:
        return "RUVECTOR" if self.dim is None else "RUVECTOR(%d)" % self.dim

    def bind_processor(self, dialect: Any) -> Any:
        def process(value: Any) -> str | None:
            return None if value is None else _codec.to_text(value)

        return process

    def literal_processor(self, dialect: Any) -> Any:
        string_literal = self._string._cached_literal_processor(dialect)

        def process(value: Any) -> str:
            return string_literal(_codec.to_text(value))

        return process

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return _codec.to_numpy

    class Comparator(TypeEngine.Comparator[Any]):
        def l2_distance(self, other: Any) -> Any:
            """Euclidean distance, ``<->``."""
            return self.op("<->", return_type=Float)(other)

        def max_inner_product(self, other: Any) -> Any:
            """Negative inner product, ``<#>`` (smaller is more similar)."""
            return self.op("<#>", return_type=Float)(other)

        def cosine_distance(self, other: Any) -> Any:
            """Cosine distance, ``<=>``."""
            return self.op("<=>", return_type=Float)(other)

    comparator_factory = Comparator


RUVECTOR = RuVector

# Reflection: a ruvector column reflects as RuVector.
ischema_names["ruvector"] = RuVector

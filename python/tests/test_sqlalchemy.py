"""SQLAlchemy 2.x ORM: RuVector(dim) and ordering by each distance."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Integer, create_engine, event, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from conftest import assert_bits_equal, literal, sqlalchemy_url
from ruvector_jit.sqlalchemy import RuVector

DIM = 16
METHODS = {"l2_distance": "<->", "max_inner_product": "<#>", "cosine_distance": "<=>"}


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "sa_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    embedding: Mapped[np.ndarray] = mapped_column(RuVector(DIM))


DATA = np.random.default_rng(41).standard_normal((500, DIM), dtype=np.float32)
QUERY = np.random.default_rng(42).standard_normal(DIM, dtype=np.float32)


def test_no_l1_distance():
    # the extension has no <+>: the column type offers only its operators
    assert not hasattr(Item.embedding, "l1_distance")
    assert str(RuVector(3).compile()) == "RUVECTOR(3)" and str(RuVector().compile()) == "RUVECTOR"


@pytest.fixture(params=["psycopg", "psycopg+register", "psycopg2"])
def engine(request):
    driver = request.param.split("+")[0]
    engine = create_engine(sqlalchemy_url(driver))
    if request.param.endswith("+register"):
        import ruvector_jit

        @event.listens_for(engine, "connect")
        def connect(dbapi_connection, connection_record):
            ruvector_jit.register_ruvector(dbapi_connection)

    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(Item(id=i, embedding=row) for i, row in enumerate(DATA))
        session.add(Item(id=len(DATA), embedding=[1.0] * DIM))  # a list too
        session.commit()
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


def test_round_trip_and_reflection(engine):
    with Session(engine) as session:
        items = session.scalars(select(Item).order_by(Item.id)).all()
    assert len(items) == len(DATA) + 1
    for item, want in zip(items, DATA):
        assert_bits_equal(item.embedding, want)
    assert_bits_equal(items[-1].embedding, [1.0] * DIM)
    col = {c["name"]: c for c in inspect(engine).get_columns("sa_items")}["embedding"]
    assert isinstance(col["type"], RuVector)


@pytest.mark.parametrize("method", METHODS)
def test_order_by_distance(engine, method):
    op = METHODS[method]
    distance = getattr(Item.embedding, method)(QUERY)
    with Session(engine) as session:
        orm = session.execute(select(Item.id, distance).order_by(distance).limit(5)).all()
        raw = session.execute(text(
            f"SELECT id, embedding {op} {literal(QUERY)} FROM sa_items ORDER BY 2 LIMIT 5")).all()
        items = session.scalars(select(Item).order_by(distance).limit(5)).all()
    assert [tuple(r) for r in orm] == [tuple(r) for r in raw]
    assert [i.id for i in items] == [r[0] for r in raw]
    assert all(isinstance(i.embedding, np.ndarray) for i in items)
    # numpy's ranking for the two that are exact enough to compare
    if method == "l2_distance":
        assert [r[0] for r in orm] == list(np.argsort(np.linalg.norm(DATA - QUERY, axis=1))[:5])
    if method == "max_inner_product":
        assert [r[0] for r in orm] == list(np.argsort(-(DATA.astype(np.float64) @ QUERY))[:5])


@pytest.mark.asyncio
@pytest.mark.parametrize("driver", ["asyncpg", "psycopg_async"])
async def test_async_orm(driver):
    engine = create_async_engine(sqlalchemy_url(driver))

    @event.listens_for(engine.sync_engine, "connect")
    def connect(dbapi_connection, connection_record):
        if driver == "asyncpg":
            from ruvector_jit.asyncpg import register_ruvector
        else:
            from ruvector_jit import register_ruvector_async as register_ruvector
        dbapi_connection.run_async(register_ruvector)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            session.add_all(Item(id=i, embedding=row) for i, row in enumerate(DATA[:100]))
            await session.commit()
            for method, op in METHODS.items():
                distance = getattr(Item.embedding, method)(QUERY)
                items = (await session.scalars(select(Item).order_by(distance).limit(5))).all()
                raw = (await session.execute(text(
                    f"SELECT id FROM sa_items ORDER BY embedding {op} {literal(QUERY)} LIMIT 5"))).all()
                assert [i.id for i in items] == [r[0] for r in raw]
                for i in items:
                    assert_bits_equal(i.embedding, DATA[i.id])
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
    finally:
        await engine.dispose()

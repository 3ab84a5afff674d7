"""Engine, pool and session for the async implementation, and the request dependency."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from implementations.contract.counting import PoolStats
from implementations.contract.roundtrips import AsyncpgRoundTripConnection
from implementations.contract.settings import Settings

# The same hook as the sync implementation, so both SQLAlchemy implementations count alike.
from implementations.sync_sqlalchemy.database import watch


@dataclass
class Database:
    """What the app holds for its lifetime: the engine (and its pool), a session factory,
    and the pool's event counts."""

    engine: AsyncEngine
    sessionmaker: "async_sessionmaker[AsyncSession]" = field(init=False)
    # Autocommit connections, for the benchmarks only (as in the sync implementation). Here
    # an execution option of the API's engine is enough: SQLAlchemy's asyncpg adapter keeps
    # autocommit on the client (it simply sends no BEGIN), so nothing is sent to set it or
    # to put it back, unlike psycopg2, which needs the sync implementation's second engine.
    autocommit_sessionmaker: "async_sessionmaker[AsyncSession]" = field(init=False)
    pool_stats: PoolStats = field(init=False)

    def __post_init__(self) -> None:
        # expire_on_commit=False matters twice here: besides saving the SELECT that reloads
        # expired attributes, that reload would be implicit IO when the response is built,
        # outside any await, which an AsyncSession cannot do (MissingGreenlet).
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.autocommit_sessionmaker = async_sessionmaker(autocommit, expire_on_commit=False)
        # Events live on the sync Engine that the AsyncEngine drives through greenlets;
        # the driver's cursor calls all pass through it.
        self.pool_stats = watch(self.engine.sync_engine)

    @property
    def max_connections(self) -> int:
        """The pool's ceiling, read from the pool itself (QueuePool keeps no public max)."""
        return self.engine.pool.size() + self.engine.pool._max_overflow  # type: ignore[attr-defined]

    async def close(self) -> None:
        await self.engine.dispose()


def open_database(settings: Settings) -> Database:
    engine = create_async_engine(
        settings.url_for("asyncpg"),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout,
        pool_recycle=settings.pool_recycle,
        pool_pre_ping=settings.pool_pre_ping,
        echo=settings.echo,
        # Round trips are counted below SQLAlchemy, in asyncpg's protocol.
        connect_args={"connection_class": AsyncpgRoundTripConnection},
    )
    return Database(engine)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.database.sessionmaker() as session:
        yield session


# scope="function": the session closes (its ROLLBACK sent, the connection back in the pool)
# when the endpoint returns, before the response is sent, so the pool slot is not held while
# the client reads, and X-Round-Trips can count that ROLLBACK.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

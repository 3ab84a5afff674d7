"""Engine, pool and session for the async implementation, and the request dependency."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import uuid4

from fastapi import Depends, Request
from sqlalchemy import AsyncAdaptedQueuePool
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from implementations.contract.counting import PoolStats
from implementations.contract.roundtrips import AsyncpgRoundTripConnection
from implementations.contract.settings import Settings

# The same hooks as the sync implementation, so both SQLAlchemy implementations count alike.
from implementations.sync_sqlalchemy.database import ceiling, pool_options, watch


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
    def max_connections(self) -> int | None:
        """The pool's ceiling, read from the pool itself (None for a NullPool)."""
        return ceiling(self.engine.pool)

    async def close(self) -> None:
        await self.engine.dispose()


def open_database(settings: Settings) -> Database:
    # Round trips are counted below SQLAlchemy, in asyncpg's protocol.
    connect_args: dict[str, Any] = {"connection_class": AsyncpgRoundTripConnection}
    if settings.application_name:
        connect_args["server_settings"] = {"application_name": settings.application_name}
    if not settings.statement_cache:
        # Behind PgBouncer in transaction mode a named prepared statement may be met on
        # another server connection: no caches, and a unique name for the statements
        # SQLAlchemy still prepares (SQLAlchemy's asyncpg dialect docs, "Prepared
        # Statement Name with PGBouncer").
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
        }
    engine = create_async_engine(
        settings.url_for("asyncpg"),
        **pool_options(settings, AsyncAdaptedQueuePool),
        pool_pre_ping=settings.pool_pre_ping,
        echo=settings.echo,
        connect_args=connect_args,
    )
    return Database(engine)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.database.sessionmaker() as session:
        yield session


# scope="function": the session closes (its ROLLBACK sent, the connection back in the pool)
# when the endpoint returns, before the response is sent, so the pool slot is not held while
# the client reads, and X-Round-Trips can count that ROLLBACK.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
